package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSignVerify: a signature made with a key verifies with its public
// key, and not with another key nor after the file changed.
func TestSignVerify(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	noenv := func(string) string { return "" }
	var out bytes.Buffer
	if err := run([]string{"keygen", "-o", p("a.key")}, noenv, &out); err != nil {
		t.Fatal(err)
	}
	pubA := strings.TrimSpace(out.String())
	if err := run([]string{"keygen", "-o", p("b.key")}, noenv, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p("SHA256SUMS"), []byte("abc  Terrain.exe\n"), 0o644)
	keyA, _ := os.ReadFile(p("a.key"))
	env := func(k string) string { return map[string]string{"TERRAIN_SIGNING_KEY": string(keyA)}[k] }
	if err := run([]string{"sign", "-o", p("SHA256SUMS.sig"), "-pub", p("pub"), p("SHA256SUMS")}, env, &out); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"verify", "-pub", pubA, p("SHA256SUMS"), p("SHA256SUMS.sig")}, noenv, &out); err != nil {
		t.Fatalf("good signature refused: %v", err)
	}
	if err := run([]string{"verify", "-pub", p("pub"), p("SHA256SUMS"), p("SHA256SUMS.sig")}, noenv, &out); err != nil {
		t.Fatalf("public key file: %v", err)
	}
	if err := run([]string{"sign", "-key", p("b.key"), "-o", p("b.sig"), p("SHA256SUMS")}, noenv, &out); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"verify", "-pub", pubA, p("SHA256SUMS"), p("b.sig")}, noenv, &out); err == nil {
		t.Error("a signature by another key was accepted")
	}
	os.WriteFile(p("SHA256SUMS"), []byte("abd  Terrain.exe\n"), 0o644)
	if err := run([]string{"verify", "-pub", pubA, p("SHA256SUMS"), p("SHA256SUMS.sig")}, noenv, &out); err == nil {
		t.Error("a changed file was accepted")
	}
}
