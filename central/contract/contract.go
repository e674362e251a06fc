// Package contract is the one test suite every central.Backend must pass.
// It drives the real HTTP handler of package central (through httptest)
// over the backend under test, so what it proves is what a coordinator's
// laptop sees: a backend passes when the service built on it behaves.
//
// A backend's own test calls Run:
//
//	func TestContract(t *testing.T) {
//		contract.Run(t, func(t *testing.T) central.Backend { return openFresh(t) })
//	}
package contract

import (
	"testing"

	"leconsortium.coop/terrain/central"
)

// Run runs the suite. open must return a fresh, empty backend each time it is
// called; Run closes it when the sub-test ends.
func Run(t *testing.T, open func(t *testing.T) central.Backend) {
	tests := []struct {
		name string
		fn   func(*testing.T, func(*testing.T) central.Backend)
	}{
		{"Backend/Transactions", testTransactions},
		{"Backend/RecordsByID", testRecordsByID},
		{"Backend/Feed", testFeed},
		{"Backend/Indexes", testIndexes},
		{"PushPullRoundTrip", testPushPull},
		{"ReplayThreeTimesChangesNothing", testReplay},
		{"LostReplyRetryDoesNotDuplicate", testLostReply},
		{"RejectionRepeatedOnRetry", testRejectionReplay},
		{"SameFieldConflictConverges", testSameFieldConflict},
		{"DifferentFieldsBothSurvive", testDifferentFields},
		{"FollowUpCompletionSyncs", testFollowUpCompletion},
		{"ClockAheadIsClamped", testClockAhead},
		{"OutOfScopeRefusedRestApplies", testOutOfScope},
		{"VisitsOnlyByTheirCoordinator", testVisitAuthor},
		{"VisitEditsByAuthor", testVisitEditsByAuthor},
		{"VisitCorrectedByCentral", testVisitCorrectedByCentral},
		{"InvalidMutationRejectedWithFields", testInvalid},
		{"RefusedEditLeavesNoTrace", testRefusedEditLeavesNoTrace},
		{"TombstonesPropagate", testTombstones},
		{"DeleteRacingAnEditRefused", testDeleteRacingEdit},
		{"PagingDeliversEveryChangeOnce", testPaging},
		{"ConcurrentPushesNeverSkipped", testConcurrent},
		{"BadInputChangesNothing", testBadInput},
		{"Strict/KeysExactAndOnce", testStrictKeys},
		{"Strict/SeqBounded", testSeqBounds},
		{"Strict/CursorAheadRefetches", testCursorAhead},
		{"Text/RefusedOrCleanedOnBothBackends", testTextRefusedCleanly},
		{"Text/ReferencesChecked", testReferencesChecked},
		{"Text/OutOfScopeLooksAbsent", testOutOfScopeLooksAbsent},
		{"Text/EqualAfterNormalisationNoConflict", testEqualAfterNormalisation},
		{"OtherCoordinatorsDataUntouched", testOtherCoordinator},
		{"RegionGainedIsBackfilled", testRegionGained},
		{"MemberMovedOutIsRemoved", testMemberMoved},
		{"MoveOutOfScopeRefused", testMoveOutOfScope},
		{"RegionDroppedIsDeleted", testRegionDropped},
		{"DisabledAndRevoked", testDisabledRevoked},
		{"SignInThrottled", testThrottle},
		{"SignInThrottleHoldsUnderConcurrency", testThrottleConcurrent},
		{"SignInThrottlePerAddress", testThrottleAddress},
		{"EpochMismatch", testEpoch},
		{"EpochChangedWhenServerLostWork", testEpochLostWork},
		{"ImportAllOrNothing", testImport},
		{"ReimportKeepsCoordinatorChanges", testReimport},
		{"HealthAndCatalog", testHealthCatalog},
		{"DeviceAppVersionRecorded", testDeviceAppVersion},
		{"MetricsMoveWithSyncs", testMetrics},
		{"Privacy/MemberDossier", testMemberDossier},
		{"Privacy/DeleteMember", testDeleteMember},
		{"Privacy/DeleteMemberFromDevice", testDeleteMemberFromDevice},
		{"Privacy/PurgeVisits", testPurgeVisits},
		{"Privacy/RetentionOff", testRetentionOff},
		{"Privacy/RetentionRunsAtStart", testKeepRetention},
		{"Privacy/StaleSignInFailuresForgotten", testStaleFailuresForgotten},
		{"Security/SecretsStoredHashed", testSecretsStoredHashed},
		{"Security/AuthorizationMatrix", testAuthorizationMatrix},
		{"Security/LogsHoldNoSecrets", testLogsHoldNoSecrets},
		{"Limits/InflateCap", testInflateCap},
		{"Limits/MemoryBudget", testMemoryBudget},
		{"HTTP/SlowBodyIs408", testSlowBody},
		{"HTTP/OddPathsAreUnknown", testOddPaths},
		{"HTTP/HSTSOverTLS", testHSTS},
		{"Auth/TwoAuthorizationHeaders", testTwoAuthorizations},
		{"Auth/TokensRevokedOnPasswordAndDisable", testTokensRevokedOnPasswordAndDisable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}
