package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDecodeRequest feeds the sync request decoder arbitrary bodies. It must
// never panic, must refuse with a *DecodeError, and what it accepts must
// survive a re-encoding unchanged. The seed corpus is in
// testdata/fuzz/FuzzDecodeRequest and runs with every go test.
func FuzzDecodeRequest(f *testing.F) {
	good, _ := json.Marshal(validRequest())
	f.Add(good)
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRequest(data)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Code == "" || de.Message == "" {
				t.Fatalf("refusal without a code: %v", err)
			}
			return
		}
		once, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("accepted request does not encode: %v", err)
		}
		again, err := DecodeRequest(once)
		if err != nil {
			t.Fatalf("re-encoded request refused: %v\n%s", err, once)
		}
		twice, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("encoding not stable:\n%s\n%s", once, twice)
		}
	})
}
