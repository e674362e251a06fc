package store

import (
	"encoding/json"
	"strings"

	"leconsortium.coop/terrain/domain"
)

// A record the server deleted keeps nothing but its id on the device (see
// applier.record). When the server erased it (Change.Erased: a member the
// central office deleted, its records, an expired visit), forget, run once
// for each pulled page that brought such tombstones, removes what else the
// device holds about it, because Law 25 asks that what the central office
// destroys be destroyed everywhere:
//
//   - a deleted member's visits and follow-ups that only this device has
//     (recorded here, not yet pushed or refused) and the conflicts about
//     it go, like the records the server deleted with it;
//   - a change of any deleted record still waiting in the outbox keeps no
//     value: it is sent as a delete, which the server takes as done. A
//     content-free copy goes to the quarantine, so that the coordinator
//     learns the edit was not kept (nothing typed is ever lost silently);
//   - a refused change of a deleted record in the quarantine keeps no value
//     either, and reads "deleted". The coordinator can only discard it:
//     resending has nothing to send.
//
// After an ordinary delete (a coordinator deleted a visit; the server keeps
// its values, so that a mistake can be undone) the device's unsent changes
// of the record keep their values: the server refuses them and they wait
// in the quarantine, where the coordinator sees what was typed.

// forgottenMessage explains a stripped change, for logs.
const forgottenMessage = "deleted on the central service; what this change held was removed from this device"

// forget applies the rules above to the records in a.gone and a.erased.
func (a *applier) forget() error {
	if len(a.gone) == 0 {
		return nil
	}
	// The reads below see every earlier write of this page.
	if err := a.commit(); err != nil {
		return err
	}
	a.resnap()
	a.begin()
	for id := range a.erased {
		refs, err := a.dropChildren(id)
		if err != nil {
			return err
		}
		for _, r := range refs {
			a.gone[r] = true
		}
	}
	if len(a.erased) > 0 {
		refs, err := a.dropConflicts(a.erased)
		if err != nil {
			return err
		}
		for _, r := range refs {
			a.gone[r] = true
		}
	}
	// Records that changes name as an erased member's, which its indexes
	// did not find (a visit made and deleted here, both not yet pushed).
	// They are found, and dropped, before the changes that name them are
	// stripped: a crash in between (the page is then applied again) must
	// still find them.
	strays, err := a.findStrays()
	if err != nil {
		return err
	}
	if err := a.dropStrays(strays); err != nil {
		return err
	}
	if err := a.forgetOutbox(strays); err != nil {
		return err
	}
	return a.forgetQuarantine(strays)
}

// findStrays returns the records that unsent or refused changes name as an
// erased member's.
func (a *applier) findStrays() (map[string]bool, error) {
	strays := map[string]bool{}
	if len(a.erased) == 0 {
		return strays, nil
	}
	for _, prefix := range []string{pOutbox, pQuarantine} {
		err := scanValues(a.snap, []byte(prefix), func(key, val []byte) (bool, error) {
			var m Mutation
			if prefix == pOutbox {
				if err := jsonUnmarshal(key, val, &m); err != nil {
					return false, err
				}
			} else {
				var q Quarantined
				if err := jsonUnmarshal(key, val, &q); err != nil {
					return false, err
				}
				m = q.Mutation
			}
			a.about(m, strays)
			return true, nil
		})
		if err != nil {
			return nil, err
		}
	}
	return strays, nil
}

// about reports whether a change concerns a deleted record, noting in
// strays the records it names as an erased member's.
func (a *applier) about(m Mutation, strays map[string]bool) bool {
	ref := refKey(m.Kind, m.ID)
	if a.gone[ref] {
		return true
	}
	if raw, ok := m.Fields["member_id"]; ok && len(a.erased) > 0 {
		var id string
		if json.Unmarshal(raw, &id) == nil && a.erased[id] {
			strays[ref] = true
			a.gone[ref] = true
			return true
		}
	}
	return false
}

// forgetOutbox strips the pending changes of deleted records.
func (a *applier) forgetOutbox(strays map[string]bool) error {
	var doomed []Mutation
	err := scanValues(a.snap, []byte(pOutbox), func(key, val []byte) (bool, error) {
		var m Mutation
		if err := jsonUnmarshal(key, val, &m); err != nil {
			return false, err
		}
		if !m.Delete && a.about(m, strays) {
			doomed = append(doomed, m)
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	now := a.s.now().UTC()
	for _, m := range doomed {
		if err := a.room(1024, 2); err != nil {
			return err
		}
		// An edit that carries no field is refused by the server, and its
		// number must still reach it: a delete of a deleted or unknown
		// record is acknowledged and changes nothing.
		sent := Mutation{Seq: m.Seq, Kind: m.Kind, ID: m.ID, Delete: true, HLC: m.HLC, At: m.At}
		if err := setJSON(a.w.txn, outboxKey(m.Seq), sent); err != nil {
			return err
		}
		qk := quarantineKey(m.Seq)
		if old, err := getRaw(a.w.txn, qk); err != nil {
			return err
		} else if old != nil {
			continue
		}
		q := Quarantined{Mutation: Mutation{Seq: m.Seq, Kind: m.Kind, ID: m.ID, HLC: m.HLC, At: m.At},
			Code: codeDeleted, Message: forgottenMessage, At: now}
		if err := setJSON(a.w.txn, qk, q); err != nil {
			return err
		}
		a.res.Quarantined++
	}
	return nil
}

// codeDeleted is the server's rejection code for a change of a deleted
// record (protocol.RejectDeleted; the store does not import the protocol).
const codeDeleted = "deleted"

// forgetQuarantine strips the refused changes of deleted records.
func (a *applier) forgetQuarantine(strays map[string]bool) error {
	var doomed []Quarantined
	err := scanValues(a.snap, []byte(pQuarantine), func(key, val []byte) (bool, error) {
		var q Quarantined
		if err := jsonUnmarshal(key, val, &q); err != nil {
			return false, err
		}
		stripped := len(q.Mutation.Fields) == 0 && len(q.Mutation.Prev) == 0 && len(q.Fields) == 0 && q.Code == codeDeleted
		if a.about(q.Mutation, strays) && !stripped {
			doomed = append(doomed, q)
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, q := range doomed {
		if err := a.room(1024, 1); err != nil {
			return err
		}
		m := q.Mutation
		q.Mutation = Mutation{Seq: m.Seq, Kind: m.Kind, ID: m.ID, Delete: m.Delete, HLC: m.HLC, At: m.At}
		q.Code, q.Message, q.Fields = codeDeleted, forgottenMessage, nil
		if err := setJSON(a.w.txn, quarantineKey(m.Seq), q); err != nil {
			return err
		}
	}
	return nil
}

// dropStrays deletes the strays still stored: tombstones of this device's
// own deletes, and live records still naming an erased member.
func (a *applier) dropStrays(strays map[string]bool) error {
	for ref := range strays {
		kind, id := refParts(ref)
		if kind != domain.KindVisit && kind != domain.KindFollowUp {
			continue
		}
		from, env, err := findRecord(a.w.txn, kind, id)
		if err != nil {
			return err
		}
		if env == nil || env.Gone {
			continue
		}
		var old any
		if env.Deleted == 0 {
			if old, err = decodeValue(kind, env.Data); err != nil {
				return err
			}
			var ref struct {
				MemberID string `json:"member_id"`
			}
			if json.Unmarshal(env.Data, &ref) != nil || !a.erased[ref.MemberID] {
				continue // another member's now: not this deletion's business
			}
		}
		if err := a.room(512, 6); err != nil {
			return err
		}
		if err := a.purge(kind, id, from, old); err != nil {
			return err
		}
		a.res.Deleted++
	}
	return nil
}

func refParts(ref string) (domain.Kind, string) {
	kind, id, _ := strings.Cut(ref, "/")
	return domain.Kind(kind), id
}

// idOnly is the data of a tombstone the server made: the id alone.
func idOnly(id string) json.RawMessage {
	return json.RawMessage(`{"id":` + string(jsonString(id)) + `}`)
}
