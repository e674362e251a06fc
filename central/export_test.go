package central

import "encoding/json"

// AheadServed is how many pages s served from those built ahead.
func AheadServed(s *Server) int64 { return s.ahead.served.Load() }

// WaitAhead waits until the page being built ahead for device, if any, is
// built, and reports whether there is one.
func WaitAhead(s *Server, device string) bool {
	s.ahead.mu.Lock()
	p := s.ahead.pages[device]
	s.ahead.mu.Unlock()
	if p == nil {
		return false
	}
	<-p.done
	return p.err == nil
}

// AheadIDs lists the records of the page built ahead for device.
func AheadIDs(s *Server, device string) []string {
	s.ahead.mu.Lock()
	p := s.ahead.pages[device]
	s.ahead.mu.Unlock()
	if p == nil {
		return nil
	}
	<-p.done
	var ids []string
	for _, c := range p.resp.Changes {
		var ch struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(c, &ch)
		ids = append(ids, ch.ID)
	}
	return ids
}
