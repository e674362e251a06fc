package domain

// LegalForm is the legal form of a member enterprise.
type LegalForm string

// The legal forms of the consortium's members.
const (
	WorkerCoop            LegalForm = "worker_coop"
	ConsumerCoop          LegalForm = "consumer_coop"
	ProducerCoop          LegalForm = "producer_coop"
	SolidarityCoop        LegalForm = "solidarity_coop"
	WorkerShareholderCoop LegalForm = "worker_shareholder_coop"
	Mutual                LegalForm = "mutual"
	NonProfit             LegalForm = "nonprofit"
	Federation            LegalForm = "federation"
)

// LegalForms lists every legal form in display order.
func LegalForms() []LegalForm {
	return []LegalForm{WorkerCoop, ConsumerCoop, ProducerCoop, SolidarityCoop,
		WorkerShareholderCoop, Mutual, NonProfit, Federation}
}

// Valid reports whether f is a known legal form.
func (f LegalForm) Valid() bool {
	for _, k := range LegalForms() {
		if k == f {
			return true
		}
	}
	return false
}

// MessageID is the locales message that names the legal form.
func (f LegalForm) MessageID() string { return "legalform." + string(f) }

// Service is one of the consortium's shared services. The catalog is managed
// centrally and read-only in the app.
type Service struct {
	ID     string `json:"id"`
	NameFR string `json:"name_fr"`
	NameEN string `json:"name_en"`
}

// Name returns the service's name in the given language, French by default.
func (s Service) Name(lang string) string {
	if lang == "en" {
		return s.NameEN
	}
	return s.NameFR
}

// DefaultServices is the consortium's catalog as of today; the central service
// may publish a newer one.
func DefaultServices() []Service {
	return []Service{
		{"hr", "Ressources humaines", "Human resources"},
		{"legal", "Services juridiques", "Legal services"},
		{"accounting", "Comptabilité", "Accounting"},
		{"strategy", "Développement stratégique et organisationnel", "Strategic and organisational development"},
		{"communications", "Communications et affaires publiques", "Communications and public affairs"},
		{"web", "Développement web", "Web development"},
		{"digital", "Transformation numérique", "Digital transformation"},
	}
}

// ValidServiceID reports whether id names a service of the default catalog.
func ValidServiceID(id string) bool {
	for _, s := range DefaultServices() {
		if s.ID == id {
			return true
		}
	}
	return false
}

// VisitMode is how a visit took place.
type VisitMode string

// The ways a coordinator meets a member.
const (
	OnSite VisitMode = "on_site"
	Phone  VisitMode = "phone"
	Video  VisitMode = "video"
)

// VisitModes lists the modes in display order.
func VisitModes() []VisitMode { return []VisitMode{OnSite, Phone, Video} }

// Valid reports whether m is a known mode.
func (m VisitMode) Valid() bool { return m == OnSite || m == Phone || m == Video }

// MessageID is the locales message that names the mode.
func (m VisitMode) MessageID() string { return "visitmode." + string(m) }

// FollowUpStatus is where a follow-up stands.
type FollowUpStatus string

// The states of a follow-up.
const (
	FollowUpOpen       FollowUpStatus = "open"
	FollowUpInProgress FollowUpStatus = "in_progress"
	FollowUpDone       FollowUpStatus = "done"
)

// FollowUpStatuses lists the states in display order.
func FollowUpStatuses() []FollowUpStatus {
	return []FollowUpStatus{FollowUpOpen, FollowUpInProgress, FollowUpDone}
}

// Valid reports whether s is a known state.
func (s FollowUpStatus) Valid() bool {
	return s == FollowUpOpen || s == FollowUpInProgress || s == FollowUpDone
}

// MessageID is the locales message that names the state.
func (s FollowUpStatus) MessageID() string { return "followupstatus." + string(s) }

// MemberStatus is a member's standing with the consortium.
type MemberStatus string

// The standings of a member.
const (
	MemberActive    MemberStatus = "active"
	MemberSuspended MemberStatus = "suspended"
	MemberFormer    MemberStatus = "former"
)

// MemberStatuses lists the standings in display order.
func MemberStatuses() []MemberStatus {
	return []MemberStatus{MemberActive, MemberSuspended, MemberFormer}
}

// Valid reports whether s is a known standing.
func (s MemberStatus) Valid() bool {
	return s == MemberActive || s == MemberSuspended || s == MemberFormer
}

// MessageID is the locales message that names the standing.
func (s MemberStatus) MessageID() string { return "memberstatus." + string(s) }
