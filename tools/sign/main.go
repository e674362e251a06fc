// Command sign makes and checks the ed25519 signature of a release's
// SHA256SUMS (scripts/dist.sh). Keys are base64 text: a private key is the
// 32-byte seed, a public key the 32-byte key.
//
//	go run ./tools/sign keygen -o release.key       # prints the public key
//	go run ./tools/sign sign -key release.key -o SHA256SUMS.sig SHA256SUMS
//	go run ./tools/sign verify -pub KEY SHA256SUMS SHA256SUMS.sig
//
// The private key may come from TERRAIN_SIGNING_KEY instead of a file. The
// signature file is base64 text too.
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sign:", err)
		os.Exit(1)
	}
}

func run(args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: sign keygen|sign|verify")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	switch args[0] {
	case "keygen":
		out := fs.String("o", "", "file to write the private key to (mode 0600)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *out == "" {
			return errors.New("keygen: give -o FILE")
		}
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, []byte(base64.StdEncoding.EncodeToString(priv.Seed())+"\n"), 0o600); err != nil {
			return err
		}
		fmt.Fprintln(stdout, base64.StdEncoding.EncodeToString(pub))
		return nil
	case "sign":
		keyFile := fs.String("key", "", "private key file (default: env TERRAIN_SIGNING_KEY)")
		out := fs.String("o", "", "signature file to write")
		pubOut := fs.String("pub", "", "also write the public key to this file")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 || *out == "" {
			return errors.New("sign: sign -key FILE -o SIG FILE")
		}
		text := getenv("TERRAIN_SIGNING_KEY")
		if *keyFile != "" {
			b, err := os.ReadFile(*keyFile)
			if err != nil {
				return err
			}
			text = string(b)
		}
		seed, err := decodeKey(text, ed25519.SeedSize, "private key")
		if err != nil {
			return err
		}
		priv := ed25519.NewKeyFromSeed(seed)
		data, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return err
		}
		sig := ed25519.Sign(priv, data)
		if err := os.WriteFile(*out, []byte(base64.StdEncoding.EncodeToString(sig)+"\n"), 0o644); err != nil {
			return err
		}
		if *pubOut != "" {
			pub := priv.Public().(ed25519.PublicKey)
			return os.WriteFile(*pubOut, []byte(base64.StdEncoding.EncodeToString(pub)+"\n"), 0o644)
		}
		return nil
	case "verify":
		pubText := fs.String("pub", "", "public key (base64) or a file holding it")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 2 || *pubText == "" {
			return errors.New("verify: verify -pub KEY FILE SIG")
		}
		text := *pubText
		if b, err := os.ReadFile(text); err == nil {
			text = string(b)
		}
		pub, err := decodeKey(text, ed25519.PublicKeySize, "public key")
		if err != nil {
			return err
		}
		data, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return err
		}
		sigText, err := os.ReadFile(fs.Arg(1))
		if err != nil {
			return err
		}
		sig, err := decodeKey(string(sigText), ed25519.SignatureSize, "signature")
		if err != nil {
			return err
		}
		if !ed25519.Verify(ed25519.PublicKey(pub), data, sig) {
			return fmt.Errorf("%s: signature does not match (other key, or the file changed)", fs.Arg(0))
		}
		fmt.Fprintf(stdout, "%s: good signature\n", fs.Arg(0))
		return nil
	}
	return fmt.Errorf("unknown command %q: use keygen, sign or verify", args[0])
}

func decodeKey(text string, size int, what string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil || len(b) != size {
		return nil, fmt.Errorf("%s: want %d bytes in base64", what, size)
	}
	return b, nil
}
