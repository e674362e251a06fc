// Package domain holds Terrain's vocabulary: regions, legal forms, the
// services catalog, members, visits, follow-ups and coordinators, with their
// validation rules, identifiers and the search folding key.
//
// It depends on no other package of the project; every other package may
// depend on it.
package domain
