package central

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// TestOpenAPIMatchesTheCode keeps openapi.yaml honest: every schema lists
// exactly the JSON fields of the Go type it documents, and every endpoint
// the handler serves is described.
func TestOpenAPIMatchesTheCode(t *testing.T) {
	doc, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(doc), "\n")
	for name, v := range map[string]any{
		"Error": protocol.Error{}, "SessionRequest": protocol.SessionRequest{}, "SessionResponse": protocol.SessionResponse{},
		"CoordinatorInfo": protocol.CoordinatorInfo{}, "SyncRequest": protocol.SyncRequest{}, "Mutation": protocol.Mutation{},
		"Backfill": protocol.Backfill{}, "SyncResponse": protocol.SyncResponse{}, "Rejection": protocol.Rejection{},
		"FieldError": domain.FieldError{}, "Change": protocol.Change{}, "FieldVersion": protocol.FieldVersion{},
		"Conflict": protocol.Conflict{}, "ConflictSide": protocol.ConflictSide{}, "Service": domain.Service{},
	} {
		got := schemaProperties(lines, name)
		want := jsonNames(reflect.TypeOf(v))
		if !slices.Equal(got, want) {
			t.Errorf("schema %s lists %v; the Go type has %v", name, got, want)
		}
	}
	for _, path := range []string{"/healthz", "/v1/session", "/v1/sync", "/v1/catalog"} {
		if !slices.Contains(lines, "  "+path+":") {
			t.Errorf("path %s is not documented", path)
		}
	}
	for _, code := range []string{protocol.RejectForbidden, protocol.RejectInvalid, protocol.RejectReadOnly,
		protocol.RejectUnknownField, protocol.RejectUnknownMember, protocol.RejectDeleted, protocol.RejectEditedSince,
		protocol.CodeMalformed, protocol.CodeDuplicateKey, protocol.CodeSeqOutOfRange, protocol.CodeUnknownField, protocol.CodeInvalidUTF8, protocol.CodeTooLarge,
		protocol.CodeFieldTooLarge, protocol.CodeBadRequest, protocol.CodeUnsupportedMedia, protocol.CodeUnsupportedSchema,
		protocol.CodeUnauthorized, protocol.CodeBadCredentials, protocol.CodeTooManyAttempts, protocol.CodeDisabled,
		protocol.CodeForbidden, protocol.CodeEpochChanged, protocol.CodeNotFound, protocol.CodeMethodNotAllowed, protocol.CodeInternal,
		protocol.CodeBusy, protocol.CodeRequestTimeout} {
		if !regexp.MustCompile(`[\[ ,]` + code + `[\],]`).Match(doc) {
			t.Errorf("code %s is not in an enum of openapi.yaml", code)
		}
	}
}

// schemaProperties returns the property names of components/schemas/name.
func schemaProperties(lines []string, name string) []string {
	var out []string
	in, props := false, false
	for _, l := range lines {
		indent := len(l) - len(strings.TrimLeft(l, " "))
		switch {
		case l == "    "+name+":":
			in = true
		case !in || strings.TrimSpace(l) == "":
		case indent <= 4:
			in = false
		case indent == 6:
			props = strings.TrimSpace(l) == "properties:"
		case props && indent == 8:
			key, _, _ := strings.Cut(strings.TrimSpace(l), ":")
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out
}

func jsonNames(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
