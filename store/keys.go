package store

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"leconsortium.coop/terrain/domain"
)

// Key layout. Ids are canonical UUIDs (checked before use), so they contain
// no '/' and every prefix below is unambiguous.
const (
	pMember      = "m/"
	pFollowUp    = "f/"
	pCoordinator = "c/"
	pSetting     = "set/"
	pOutbox      = "o/"

	// pVisit is "v/<member>/<date desc>/<visit id desc>": visits are stored
	// clustered by member, newest first, so a member's history is one short
	// range scan touching a few blocks, however many visits the store holds.
	pVisit = "v/"
	// pVisitLocator is "x/vid/<visit id>" -> the key the visit is stored
	// under (it moves when its member or date changes).
	pVisitLocator = "x/vid/"
	// pVisitTomb is "vt/<visit id>": deleted visits, out of the histories.
	pVisitTomb = "vt/"

	// pSummary holds one small record per member (the fields search and
	// lists show, and the last visit date) so Open builds the in-memory
	// index without reading full members or any visit.
	pSummary = "x/ms/"
	// pFollowUpStatus is "x/fs/<status>/<due>/<id>" -> "<member>|<service>".
	pFollowUpStatus = "x/fs/"
	// pMemberFollowUps is "x/fm/<member>/<due>/<id>" -> "<status>|<service>".
	pMemberFollowUps = "x/fm/"

	kSchema   = "meta/schema"
	kDevice   = "meta/device"
	kHLC      = "meta/hlc"
	kOutSeq   = "meta/outseq"
	kSync     = "meta/sync"
	kMe       = "meta/me"
	kServices = "meta/services"
)

func recordKey(prefix, id string) []byte { return []byte(prefix + id) }

// outboxKey orders mutations numerically: big-endian sorts like the number.
func outboxKey(seq uint64) []byte {
	k := make([]byte, len(pOutbox)+8)
	copy(k, pOutbox)
	binary.BigEndian.PutUint64(k[len(pOutbox):], seq)
	return k
}

func outboxSeq(key []byte) uint64 {
	return binary.BigEndian.Uint64(key[len(pOutbox):])
}

// dayNumber turns a date into yyyymmdd, 0 for the zero date; it orders like
// the date.
func dayNumber(d domain.Date) int {
	if d.IsZero() {
		return 0
	}
	return d.Year*10000 + int(d.Month)*100 + d.Day
}

func dayFromNumber(n int) domain.Date {
	if n == 0 {
		return domain.Date{}
	}
	return domain.NewDate(n/10000, time.Month(n/100%100), n%100)
}

// dayAsc is an 8-digit sortable day.
func dayAsc(d domain.Date) string { return fmt.Sprintf("%08d", dayNumber(d)) }

// dayDesc sorts later days first.
func dayDesc(d domain.Date) string { return fmt.Sprintf("%08d", 99999999-dayNumber(d)) }

func parseDayDesc(s string) (domain.Date, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return domain.Date{}, fmt.Errorf("index day %q: %w", s, err)
	}
	return dayFromNumber(99999999 - n), nil
}

// invertHex maps each hex digit d to 15-d so that ids sort in reverse: among
// visits of the same day, the one created last comes first.
func invertHex(id string) string {
	b := []byte(id)
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			b[i] = "fedcba9876543210"[c-'0']
		case c >= 'a' && c <= 'f':
			b[i] = "543210"[c-'a']
		}
	}
	return string(b)
}

func memberVisitPrefix(memberID string) string { return pVisit + memberID + "/" }

func visitKey(v *domain.Visit) []byte {
	return []byte(memberVisitPrefix(v.MemberID) + dayDesc(v.Date) + "/" + invertHex(v.ID))
}

func followUpStatusKey(f *domain.FollowUp) []byte {
	return []byte(pFollowUpStatus + string(f.Status) + "/" + dayAsc(f.Due) + "/" + f.ID)
}

func memberFollowUpKey(f *domain.FollowUp) []byte {
	return []byte(pMemberFollowUps + f.MemberID + "/" + dayAsc(f.Due) + "/" + f.ID)
}
