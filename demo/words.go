package demo

import "leconsortium.coop/terrain/domain"

// Word lists for the fictional organisations and people. Names are built as
// prefix + emblem + qualifier ("Coopérative de solidarité" + "La Ruche" +
// "des Quatre-Vents"), which no real organisation is known to bear.

// formPrefixes gives, per legal form, the ways such an organisation is
// usually named, with the short form used in its web address.
var formPrefixes = map[domain.LegalForm][]prefix{
	domain.WorkerCoop: {
		{"Coopérative de travail", "coop"},
		{"Coopérative de travailleurs", "coop"},
	},
	domain.ConsumerCoop: {
		{"Coopérative de consommateurs", "coop"},
		{"Coopérative d'alimentation", "coop"},
		{"Coopérative d'habitation", "coophab"},
		{"Coopérative funéraire", "coop"},
	},
	domain.ProducerCoop: {
		{"Coopérative de producteurs", "coop"},
		{"Coopérative agricole", "coop"},
		{"Coopérative forestière", "coop"},
	},
	domain.SolidarityCoop: {
		{"Coopérative de solidarité", "coop"},
		{"Coopérative de solidarité en santé", "coop"},
		{"Coopérative de solidarité récréotouristique", "coop"},
	},
	domain.WorkerShareholderCoop: {
		{"Coopérative de travailleurs actionnaire", "cta"},
	},
	domain.Mutual: {
		{"Mutuelle", "mutuelle"},
		{"Mutuelle de prévention", "mutuelle"},
		{"Mutuelle d'assurance", "mutuelle"},
	},
	domain.NonProfit: {
		{"Centre communautaire", "centre"},
		{"Maison de la famille", "maison"},
		{"Corporation de développement", "corpo"},
		{"Centre d'action bénévole", "cab"},
		{"Regroupement", "regroupement"},
		{"Entreprise d'insertion", "insertion"},
	},
	domain.Federation: {
		{"Fédération des coopératives", "federation"},
	},
}

type prefix struct{ name, short string }

// legalFormWeights is the mix of members, in percent.
var legalFormWeights = []struct {
	form   domain.LegalForm
	weight int
}{
	{domain.SolidarityCoop, 22},
	{domain.WorkerCoop, 17},
	{domain.ConsumerCoop, 12},
	{domain.ProducerCoop, 10},
	{domain.WorkerShareholderCoop, 5},
	{domain.Mutual, 5},
	{domain.NonProfit, 26},
	{domain.Federation, 3},
}

var emblems = []string{
	"La Ruche", "L'Érablière", "Le Grenier", "La Fourmilière", "Le Pignon", "L'Aubier",
	"La Boussole", "Le Sillon", "La Passerelle", "La Mosaïque", "Le Rucher", "La Courtepointe",
	"L'Escale", "Le Fanal", "La Traverse", "La Tablée", "L'Atelier", "La Forge", "Le Moulin",
	"La Source", "Le Carrefour", "L'Envol", "La Clairière", "Le Phare", "La Marée",
	"Le Portage", "La Grange", "L'Éclaircie", "Le Quai", "La Bourgeonnière", "L'Ancrage",
	"Le Tisserand", "La Bernache", "Le Huard", "La Cordée", "Le Fournil", "L'Oasis",
	"La Boulange", "Le Semoir", "La Marmite",
}

var qualifiers = []string{
	"des Quatre-Vents", "du Vieux-Quai", "des Hautes-Terres", "du Bas-Fleuve", "de la Baie",
	"des Battures", "du Rang-Double", "des Trois-Pignons", "du Ruisseau-Clair", "de l'Anse-Bleue",
	"des Érables", "du Plateau", "de la Côte", "du Lac-Vert", "des Bouleaux", "des Cèdres",
	"du Coteau", "de la Vallée", "des Deux-Rives", "du Grand-Large", "de la Montagne",
	"des Pionniers", "du Havre", "de la Pointe", "des Sources", "du Bocage", "des Prés",
	"de la Presqu'île", "des Rapides", "du Canton", "de la Chute", "des Îlets", "du Boisé",
	"de l'Estuaire", "des Collines", "du Moulin-Rouge", "de la Savane", "des Épinettes",
	"du Cap-Blanc", "de l'Orée",
}

// federationSectors follow "Fédération des coopératives": it federates a
// sector, not an emblem.
var federationSectors = []string{
	"d'alimentation", "forestières", "d'habitation", "funéraires", "de travail",
	"de services à domicile", "agricoles", "de solidarité",
}

type person struct {
	first    string
	feminine bool
}

var firstNames = []person{
	{"Marie", true}, {"Julie", true}, {"Isabelle", true}, {"Catherine", true}, {"Nathalie", true},
	{"Sophie", true}, {"Geneviève", true}, {"Mélanie", true}, {"Annie", true}, {"Chantal", true},
	{"Josée", true}, {"Émilie", true}, {"Véronique", true}, {"Valérie", true}, {"Caroline", true},
	{"Stéphanie", true}, {"Marie-Ève", true}, {"Audrey", true}, {"Karine", true}, {"Sylvie", true},
	{"Lucie", true}, {"Hélène", true}, {"Andrée-Anne", true}, {"Noémie", true}, {"Maude", true},
	{"Jean", false}, {"Martin", false}, {"Éric", false}, {"Stéphane", false}, {"Patrick", false},
	{"Sylvain", false}, {"François", false}, {"Mathieu", false}, {"Alexandre", false},
	{"Guillaume", false}, {"Simon", false}, {"Louis", false}, {"Pierre", false}, {"Marc-André", false},
	{"Jean-François", false}, {"Sébastien", false}, {"Benoît", false}, {"Luc", false}, {"Mario", false},
	{"Daniel", false}, {"Gilles", false}, {"Réjean", false}, {"Olivier", false}, {"Félix", false},
}

var lastNames = []string{
	"Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin",
	"Gagné", "Ouellet", "Pelletier", "Bélanger", "Lévesque", "Bergeron", "Leblanc", "Paquette",
	"Girard", "Simard", "Boucher", "Caron", "Beaulieu", "Cloutier", "Dubé", "Poirier", "Fournier",
	"Lapointe", "Leclerc", "Lefebvre", "Poulin", "Thibault", "St-Pierre", "Nadeau", "Landry",
	"Martel", "Bédard", "Grenier", "Lessard", "Bernier", "Michaud", "Hébert", "Couture",
	"Turcotte", "Lachance", "Parent", "Blais", "Gosselin", "Savard", "Proulx", "Beaudoin",
	"Demers", "Perreault", "Boudreau", "Mercier", "Vachon", "Arsenault", "Cormier", "Labrecque",
}

// roles are the contact's position, feminine and masculine.
var roles = [][2]string{
	{"directrice générale", "directeur général"},
	{"directrice générale", "directeur général"},
	{"présidente du CA", "président du CA"},
	{"coordonnatrice", "coordonnateur"},
	{"trésorière", "trésorier"},
	{"secrétaire du CA", "secrétaire du CA"},
	{"adjointe administrative", "adjoint administratif"},
	{"responsable des communications", "responsable des communications"},
	{"chargée de projet", "chargé de projet"},
}

// streets are common street names of Québec towns, with their kind.
var streets = []string{
	"rue Principale", "rue Saint-Jean", "rue Notre-Dame", "rue des Érables", "rue du Couvent",
	"rue de l'Église", "rue Saint-Laurent", "rue Champlain", "rue Sainte-Anne", "rue du Moulin",
	"rue Racine", "rue Cartier", "rue de la Gare", "rue Commerciale", "rue Saint-Georges",
	"avenue du Parc", "avenue Laurier", "avenue des Pins", "avenue Papineau", "avenue de la Fabrique",
	"boulevard Saint-Joseph", "boulevard des Pionniers", "boulevard de la Rivière",
	"chemin du Lac", "chemin des Patriotes", "chemin de la Côte", "route du Fleuve", "rang Saint-Isidore",
	"rang du Bois-Franc", "montée Sainte-Marie",
}

var mailboxes = []string{"info", "info", "bonjour", "accueil", "administration", "direction"}

// memberNotes are the remarks a coordinator keeps on a member's card.
var memberNotes = []string{
	"Assemblée générale annuelle en juin.",
	"Préfère être jointe en avant-midi.",
	"Conseil d'administration renouvelé cette année.",
	"Projet d'agrandissement à l'étude.",
	"Accès difficile en hiver : prévoir du temps de route.",
	"Stationnement à l'arrière du bâtiment.",
	"Nouvelle direction depuis l'automne.",
	"Membre fondateur du réseau régional.",
	"Bilinguisme requis pour les documents destinés aux membres.",
	"Fermé deux semaines pendant les vacances de la construction.",
	"Intéressée par une formation de groupe avec d'autres membres de la région.",
	"Planification stratégique prévue l'an prochain.",
}

var visitOpenings = []string{
	"Rencontre avec la direction pour faire le point sur l'année.",
	"Suivi du plan d'action adopté au dernier CA.",
	"Présentation de l'offre de services du consortium au nouveau conseil.",
	"Visite des installations et discussion sur les besoins à venir.",
	"Échange sur la situation financière et les priorités.",
	"Préparation de l'assemblée générale annuelle.",
	"Bilan des mandats en cours et satisfaction générale.",
	"Appel de suivi après la dernière rencontre.",
	"Discussion sur le recrutement et la rétention du personnel.",
	"Retour sur la formation offerte le mois dernier.",
}

var visitClosings = []string{
	"Membre satisfaite du service reçu.",
	"Relancer dans un mois.",
	"Documents à envoyer par courriel.",
	"Le CA doit se prononcer à sa prochaine séance.",
	"Rencontre cordiale, dossier à suivre.",
	"Budget limité cette année, à revoir à l'automne.",
}

// serviceTopics is what is discussed about each service of the catalog.
var serviceTopics = map[string][]string{
	"hr": {
		"politique de télétravail", "échelle salariale", "recrutement d'une nouvelle direction",
		"évaluation du personnel", "programme d'accueil des employés",
	},
	"legal": {
		"révision des règlements généraux", "convention d'actionnaires", "bail commercial",
		"conformité à la Loi sur les coopératives", "contrat de service avec la municipalité",
	},
	"accounting": {
		"états financiers annuels", "budget de l'an prochain", "suivi des subventions",
		"tenue de livres mensuelle", "ristournes aux membres",
	},
	"strategy": {
		"planification stratégique triennale", "gouvernance du CA", "plan de relève",
		"diversification des revenus", "étude de marché",
	},
	"communications": {
		"infolettre aux membres", "campagne de recrutement", "relations avec les médias régionaux",
		"rapport annuel", "présence sur les réseaux sociaux",
	},
	"web": {
		"refonte du site web", "boutique en ligne", "formulaire d'adhésion en ligne",
		"hébergement du site", "accessibilité du site",
	},
	"digital": {
		"logiciel de gestion des membres", "sauvegarde des données", "migration vers l'infonuagique",
		"cybersécurité", "outils de travail collaboratif",
	},
}

// followUpActions become "Envoyer … : politique de télétravail".
var followUpActions = []string{
	"Envoyer la documentation", "Préparer une proposition", "Planifier une rencontre",
	"Transmettre un gabarit", "Faire le suivi", "Obtenir une soumission",
	"Présenter au CA", "Vérifier les besoins",
}

// needs open the sentence that ends with a topic.
var needs = []string{
	"Besoin d'accompagnement pour ", "Souhaite une offre de service : ",
	"Demande de l'aide rapidement pour ", "Évalue ses options pour ",
}

// centralOffice is who a follow-up goes to when no coordinator takes it.
const centralOffice = "Bureau central"
