package protocol

import (
	"encoding/json"
	"strings"
)

// The compact form of changes. A first sync is mostly field stamps: every
// field of a record imported by the central office carries the same
// {hlc, seq, device}, which is about half of the page once gzipped. And a
// push comes back whole through the feed, although the device holds every
// value it sent. A device that sends the request header
//
//	Terrain-Features: compact-changes
//
// receives changes with one default stamp (Change.Version) and the
// exceptions in Versions (the zero stamp for a field that has none), and,
// for a record whose last write is a
// mutation of this very request stored exactly as sent, Change.Own in
// place of those fields. A server that does not know the header sends the
// full form, which the same device reads as before; a device that does not
// send it receives the full form. Neither side has to know the other's
// version.

// FeaturesHeader is the request header that lists the optional features a
// device understands, comma-separated.
const FeaturesHeader = "Terrain-Features"

// FeatureCompact asks for compact changes.
const FeatureCompact = "compact-changes"

// HasFeature reports whether a FeaturesHeader value lists feature.
func HasFeature(header, feature string) bool {
	for _, f := range strings.Split(header, ",") {
		if strings.EqualFold(strings.TrimSpace(f), feature) {
			return true
		}
	}
	return false
}

// ExpandChanges turns compact changes back into the full form, using the
// mutations of req for Own. It refuses, wrapping ErrBadResponse, an Own
// that names no mutation of req for that record.
func (r *SyncResponse) ExpandChanges(req SyncRequest) error {
	var sent map[uint64]*Mutation
	for i := range r.Changes {
		c := &r.Changes[i]
		if c.Version == nil && c.Own == 0 {
			continue
		}
		var m *Mutation
		if c.Own != 0 {
			if sent == nil {
				sent = make(map[uint64]*Mutation, len(req.Mutations))
				for j := range req.Mutations {
					sent[req.Mutations[j].Seq] = &req.Mutations[j]
				}
			}
			m = sent[c.Own]
			if m == nil || m.Kind != c.Kind || m.ID != c.ID || m.Delete {
				return badResponse("change %s %s: own names mutation %d, not one of this request for it", c.Kind, truncate(c.ID), c.Own)
			}
		}
		// The decoded maps are this page's own: they are filled in place.
		fields, versions := c.Fields, c.Versions
		if fields == nil {
			fields = make(map[string]json.RawMessage, len(m.Fields))
		}
		if versions == nil {
			versions = make(map[string]FieldVersion, len(fields))
		}
		if c.Version != nil {
			for name := range fields {
				if _, listed := versions[name]; !listed {
					versions[name] = *c.Version
				}
			}
		}
		for name, fv := range versions {
			if fv == (FieldVersion{}) { // the zero stamp: a field without one
				delete(versions, name)
			}
		}
		if m != nil {
			for name, v := range m.Fields {
				if _, ok := fields[name]; ok {
					continue
				}
				fields[name] = v
				versions[name] = FieldVersion{HLC: m.HLC, Seq: c.Seq, Device: req.ClientID}
			}
		}
		c.Fields, c.Versions, c.Version, c.Own = fields, versions, nil, 0
	}
	return nil
}
