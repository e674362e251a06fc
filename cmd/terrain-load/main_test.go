package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestMain lets the test binary serve as the child server process that
// run starts.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		if err := childMain(context.Background(), os.Args[1:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "terrain-load server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestLoadRuns runs a short load on the embedded backend and checks that
// every request succeeded; the figure itself is for the operator, not a
// test assertion.
func TestLoadRuns(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-devices", "3", "-duration", "300ms", "-write", "0.5"}, &out, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`requests=(\d+) errors=(\d+) pushes=(\d+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("output: %s", out.String())
	}
	requests, _ := strconv.Atoi(m[1])
	if requests == 0 || m[2] != "0" {
		t.Errorf("requests %s, errors %s:\n%s", m[1], m[2], out.String())
	}
}

func TestLoadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-devices", "0"},
		{"-write", "2"},
		{"-backend", "sqlite"},
		{"-backend", "postgres"},
		{"-url", "http://127.0.0.1:1"},
	} {
		if err := run(context.Background(), args, &bytes.Buffer{}, func(string) string { return "" }); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// TestScenarios runs the memory campaign's scenarios in small: hostile
// bodies are refused 413 (or 503 past the budget), first syncs complete,
// and the server's memory is reported.
func TestScenarios(t *testing.T) {
	for _, args := range [][]string{
		{"-scenario", "hostile", "-devices", "2", "-duration", "300ms"},
		{"-scenario", "first-sync", "-devices", "2", "-members", "50", "-visits", "0"},
	} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out, func(string) string { return "" }); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
		if !regexp.MustCompile(`server rss: before \d+ MiB, peak \d+ MiB`).MatchString(out.String()) {
			t.Errorf("%v: no memory figure:\n%s", args, out.String())
		}
		if args[1] == "hostile" && !regexp.MustCompile(`answers: (413|503)×\d+`).MatchString(out.String()) {
			t.Errorf("hostile bodies not refused:\n%s", out.String())
		}
		if args[1] == "first-sync" && !regexp.MustCompile(`errors=0 .*changes=[1-9]`).MatchString(out.String()) {
			t.Errorf("first syncs:\n%s", out.String())
		}
	}
}
