package clocale

import "testing"

func TestQuiet(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want map[string]string
	}{
		{map[string]string{"LANG": "C.UTF-8"}, map[string]string{"LANG": "C"}},
		{map[string]string{"LC_ALL": "POSIX.utf8", "LANG": "fr_CA.UTF-8"}, map[string]string{"LC_ALL": "POSIX", "LANG": "fr_CA.UTF-8"}},
		{map[string]string{"LC_MESSAGES": "en_CA.UTF-8", "LANG": "C.UTF-8"}, map[string]string{"LC_MESSAGES": "en_CA.UTF-8", "LANG": "C.UTF-8"}},
		{map[string]string{"LANG": "fr_CA.UTF-8"}, map[string]string{"LANG": "fr_CA.UTF-8"}},
		{map[string]string{}, map[string]string{}},
	} {
		env := map[string]string{}
		for k, v := range c.env {
			env[k] = v
		}
		Quiet(func(k string) string { return env[k] }, func(k, v string) error { env[k] = v; return nil })
		for k, v := range c.want {
			if env[k] != v {
				t.Errorf("%v: %s=%q, want %q", c.env, k, env[k], v)
			}
		}
	}
}
