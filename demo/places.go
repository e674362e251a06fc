package demo

// place is a real municipality with the forward sortation areas (the first
// three characters of a postal code) that serve it and its telephone area
// codes. Weights say how often members sit there within the region.
type place struct {
	name   string
	fsas   []string
	areas  []string
	weight int
}

var (
	east  = []string{"418", "581"} // eastern Québec
	west  = []string{"819", "873"} // western and central Québec
	mtl   = []string{"514", "438"} // island of Montréal
	crown = []string{"450", "579"} // the suburbs around Montréal
)

// regionData is one administrative region: its share of the members (in
// tenths of a percent, roughly where Québec's social economy is) and its
// municipalities.
type regionData struct {
	code   string
	weight int
	places []place
}

// regionTable is indexed in official code order (01 … 17).
var regionTable = []regionData{
	{"01", 45, []place{
		{"Rimouski", []string{"G5L", "G5M", "G5N"}, east, 6},
		{"Rivière-du-Loup", []string{"G5R"}, east, 4},
		{"Matane", []string{"G4W"}, east, 3},
		{"Amqui", []string{"G5J"}, east, 2},
		{"Mont-Joli", []string{"G5H"}, east, 2},
		{"Trois-Pistoles", []string{"G0L"}, east, 1},
		{"La Pocatière", []string{"G0R"}, east, 2},
		{"Témiscouata-sur-le-Lac", []string{"G0L"}, east, 1},
	}},
	{"02", 55, []place{
		{"Saguenay", []string{"G7H", "G7B", "G7S", "G7X"}, east, 8},
		{"Alma", []string{"G8B"}, east, 3},
		{"Roberval", []string{"G8H"}, east, 2},
		{"Dolbeau-Mistassini", []string{"G8L"}, east, 2},
		{"Saint-Félicien", []string{"G8K"}, east, 2},
		{"Métabetchouan–Lac-à-la-Croix", []string{"G8G"}, east, 1},
		{"Normandin", []string{"G8M"}, east, 1},
	}},
	{"03", 100, []place{
		{"Québec", []string{"G1K", "G1R", "G1J", "G1V", "G1L", "G1S"}, east, 14},
		{"Baie-Saint-Paul", []string{"G3Z"}, east, 2},
		{"La Malbaie", []string{"G5A"}, east, 2},
		{"Donnacona", []string{"G3M"}, east, 1},
		{"Saint-Raymond", []string{"G3L"}, east, 1},
		{"L'Ancienne-Lorette", []string{"G2E"}, east, 1},
		{"Sainte-Anne-de-Beaupré", []string{"G0A"}, east, 1},
		{"Pont-Rouge", []string{"G3H"}, east, 1},
	}},
	{"04", 40, []place{
		{"Trois-Rivières", []string{"G9A", "G8T", "G8Y", "G8Z"}, west, 8},
		{"Shawinigan", []string{"G9N", "G9P"}, west, 4},
		{"La Tuque", []string{"G9X"}, west, 2},
		{"Louiseville", []string{"J5V"}, west, 1},
		{"Saint-Tite", []string{"G0X"}, west, 1},
		{"Sainte-Anne-de-la-Pérade", []string{"G0X"}, west, 1},
		{"Saint-Boniface", []string{"G0X"}, west, 1},
	}},
	{"05", 50, []place{
		{"Sherbrooke", []string{"J1H", "J1J", "J1E", "J1G", "J1K", "J1L"}, west, 10},
		{"Magog", []string{"J1X"}, west, 3},
		{"Coaticook", []string{"J1A"}, west, 2},
		{"Lac-Mégantic", []string{"G6B"}, west, 2},
		{"Val-des-Sources", []string{"J1T"}, west, 1},
		{"Windsor", []string{"J1S"}, west, 1},
		{"East Angus", []string{"J0B"}, west, 1},
		{"Stanstead", []string{"J0B"}, west, 1},
	}},
	{"06", 220, []place{
		{"Montréal", []string{"H2X", "H2T", "H2J", "H2S", "H1V", "H3K", "H4C", "H2R", "H1Z", "H2L",
			"H3C", "H1W", "H4E", "H3H", "H2K", "H1N", "H4A", "H3N", "H2E", "H1H"}, mtl, 40},
		{"Dorval", []string{"H9P", "H9S"}, mtl, 1},
		{"Pointe-Claire", []string{"H9R"}, mtl, 1},
		{"Westmount", []string{"H3Z", "H3Y"}, mtl, 1},
		{"Mont-Royal", []string{"H3R", "H3P"}, mtl, 1},
		{"Côte-Saint-Luc", []string{"H4W"}, mtl, 1},
		{"Montréal-Est", []string{"H1B"}, mtl, 1},
		{"Sainte-Anne-de-Bellevue", []string{"H9X"}, mtl, 1},
	}},
	{"07", 35, []place{
		{"Gatineau", []string{"J8X", "J8Y", "J8T", "J9H", "J8P", "J8L"}, west, 10},
		{"Maniwaki", []string{"J9E"}, west, 2},
		{"Chelsea", []string{"J9B"}, west, 1},
		{"Val-des-Monts", []string{"J8N"}, west, 1},
		{"Cantley", []string{"J8V"}, west, 1},
		{"Shawville", []string{"J0X"}, west, 1},
		{"Papineauville", []string{"J0V"}, west, 1},
	}},
	{"08", 30, []place{
		{"Rouyn-Noranda", []string{"J9X", "J9Y"}, west, 5},
		{"Val-d'Or", []string{"J9P"}, west, 4},
		{"Amos", []string{"J9T"}, west, 3},
		{"La Sarre", []string{"J9Z"}, west, 2},
		{"Ville-Marie", []string{"J9V"}, west, 1},
		{"Témiscaming", []string{"J0Z"}, west, 1},
		{"Senneterre", []string{"J0Y"}, west, 1},
		{"Malartic", []string{"J0Y"}, west, 1},
	}},
	{"09", 25, []place{
		{"Sept-Îles", []string{"G4R", "G4S"}, east, 5},
		{"Baie-Comeau", []string{"G4Z", "G5C"}, east, 5},
		{"Port-Cartier", []string{"G5B"}, east, 2},
		{"Forestville", []string{"G0T"}, east, 1},
		{"Havre-Saint-Pierre", []string{"G0G"}, east, 1},
		{"Les Escoumins", []string{"G0T"}, east, 1},
		{"Fermont", []string{"G0G"}, east, 1},
		{"Tadoussac", []string{"G0T"}, east, 1},
	}},
	{"10", 15, []place{
		{"Chibougamau", []string{"G8P"}, east, 4},
		{"Chapais", []string{"G0W"}, east, 1},
		{"Mistissini", []string{"G0W"}, east, 1},
		{"Lebel-sur-Quévillon", []string{"J0Y"}, west, 1},
		{"Matagami", []string{"J0Y"}, west, 1},
		{"Radisson", []string{"J0Y"}, west, 1},
		{"Chisasibi", []string{"J0M"}, west, 1},
		{"Kuujjuaq", []string{"J0M"}, west, 1},
	}},
	{"11", 30, []place{
		{"Gaspé", []string{"G4X"}, east, 4},
		{"Îles-de-la-Madeleine", []string{"G4T"}, east, 3},
		{"Sainte-Anne-des-Monts", []string{"G4V"}, east, 2},
		{"Chandler", []string{"G0C"}, east, 1},
		{"Carleton-sur-Mer", []string{"G0C"}, east, 2},
		{"Percé", []string{"G0C"}, east, 1},
		{"New Richmond", []string{"G0C"}, east, 1},
		{"Bonaventure", []string{"G0C"}, east, 1},
	}},
	{"12", 45, []place{
		{"Lévis", []string{"G6V", "G6W", "G6Z", "G6K", "G7A"}, east, 8},
		{"Saint-Georges", []string{"G5Y", "G5Z"}, east, 3},
		{"Thetford Mines", []string{"G6G", "G6H"}, east, 3},
		{"Montmagny", []string{"G5V"}, east, 2},
		{"Sainte-Marie", []string{"G6E"}, east, 2},
		{"Beauceville", []string{"G5X"}, east, 1},
		{"Lac-Etchemin", []string{"G0R"}, east, 1},
		{"Saint-Jean-Port-Joli", []string{"G0R"}, east, 1},
	}},
	// Laval is a single municipality: its region has one place, many areas.
	{"13", 30, []place{
		{"Laval", []string{"H7N", "H7G", "H7V", "H7T", "H7W", "H7E", "H7L", "H7X", "H7M", "H7P"}, crown, 1},
	}},
	{"14", 40, []place{
		{"Joliette", []string{"J6E"}, crown, 4},
		{"Repentigny", []string{"J6A", "J5Y"}, crown, 3},
		{"Terrebonne", []string{"J6W", "J6X", "J6Y"}, crown, 3},
		{"Mascouche", []string{"J7K", "J7L"}, crown, 2},
		{"L'Assomption", []string{"J5W"}, crown, 1},
		{"Berthierville", []string{"J0K"}, crown, 1},
		{"Rawdon", []string{"J0K"}, crown, 1},
		{"Saint-Donat", []string{"J0T"}, west, 1},
	}},
	{"15", 45, []place{
		{"Saint-Jérôme", []string{"J7Z", "J7Y"}, crown, 4},
		{"Blainville", []string{"J7C"}, crown, 2},
		{"Mirabel", []string{"J7J"}, crown, 2},
		{"Saint-Eustache", []string{"J7R", "J7P"}, crown, 2},
		{"Lachute", []string{"J8H"}, crown, 1},
		{"Sainte-Agathe-des-Monts", []string{"J8C"}, west, 2},
		{"Mont-Tremblant", []string{"J8E"}, west, 1},
		{"Mont-Laurier", []string{"J9L"}, west, 2},
	}},
	{"16", 110, []place{
		{"Longueuil", []string{"J4H", "J4K", "J4J", "J4G", "J3Y", "J4V"}, crown, 6},
		{"Saint-Jean-sur-Richelieu", []string{"J3B", "J2W", "J3A"}, crown, 3},
		{"Saint-Hyacinthe", []string{"J2S", "J2T"}, crown, 3},
		{"Brossard", []string{"J4W", "J4X", "J4Y", "J4Z"}, crown, 2},
		{"Châteauguay", []string{"J6J", "J6K"}, crown, 2},
		{"Salaberry-de-Valleyfield", []string{"J6T", "J6S"}, crown, 2},
		{"Sorel-Tracy", []string{"J3P", "J3R"}, crown, 2},
		{"Vaudreuil-Dorion", []string{"J7V"}, crown, 1},
		{"Chambly", []string{"J3L"}, crown, 1},
		{"Beloeil", []string{"J3G"}, crown, 1},
		{"Boucherville", []string{"J4B"}, crown, 1},
		{"Huntingdon", []string{"J0S"}, crown, 1},
	}},
	{"17", 35, []place{
		{"Drummondville", []string{"J2B", "J2C", "J2A"}, west, 5},
		{"Victoriaville", []string{"G6P", "G6T", "G6S"}, west, 4},
		{"Nicolet", []string{"J3T"}, west, 1},
		{"Bécancour", []string{"G9H"}, west, 1},
		{"Plessisville", []string{"G6L"}, west, 1},
		{"Princeville", []string{"G6L"}, west, 1},
		{"Warwick", []string{"J0A"}, west, 1},
		{"Daveluyville", []string{"G0Z"}, west, 1},
	}},
}

// travelOrder lists the regions so that neighbours sit together; a
// coordinator who covers several regions gets a run of this list.
var travelOrder = []int{5, 12, 14, 13, 15, 4, 16, 3, 2, 11, 0, 10, 8, 1, 9, 7, 6}

// remote regions are mostly visited by telephone or video between trips.
var remote = map[string]bool{"08": true, "09": true, "10": true, "11": true}
