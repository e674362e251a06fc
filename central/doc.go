// Package central is Terrain's central service: the /v1 HTTP API that
// coordinators' laptops sync with, authentication and scopes, the merge of
// pushed mutations, the paged change feed, and the administration
// operations behind the terrain-central command. Storage sits behind the
// Backend interface; central/badgerdb and central/postgres implement it and
// central/contract is the one test suite both must pass.
package central
