package domain

// Kind names a kind of record in the store and on the wire.
type Kind string

// The kinds of records Terrain keeps.
const (
	KindMember      Kind = "member"
	KindVisit       Kind = "visit"
	KindFollowUp    Kind = "followup"
	KindService     Kind = "service"
	KindCoordinator Kind = "coordinator"
)

// Kinds lists every kind.
func Kinds() []Kind {
	return []Kind{KindMember, KindVisit, KindFollowUp, KindService, KindCoordinator}
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, x := range Kinds() {
		if x == k {
			return true
		}
	}
	return false
}
