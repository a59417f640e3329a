// Package indicators owns the warehouse's anonymous indicators (SEC-EXP-4,
// SEC-EXP-5): counts, sums, means, quantiles and histograms over the health
// records (or a workspace's), grouped by dictionary columns and filtered by
// a [criteria] expression, released only with differential privacy.
//
// It owns four things:
//
//   - [Definition]: what an indicator computes (measure, column, grouping,
//     filter, bounds, epsilon), checked against the data dictionary by
//     [Compile] before anything runs.
//   - [Compute]: the differentially private computation, with Google's
//     differential-privacy library (dpagg Count, BoundedSum, BoundedMean,
//     BoundedQuantiles, PreAggSelectPartition; Laplace or Gaussian noise).
//     Contributions are bounded per person, not per row: a person counts in
//     at most MaxGroupsPerPerson groups and with at most MaxRowsPerGroup
//     rows in each, whatever the number of their visits. Groups are selected
//     privately (a group that exists because of one person, or of fewer than
//     the small-cell threshold, never appears).
//   - The privacy budget ([Ledger]): each run spends its (epsilon, delta)
//     from the consumer's budget for the period, recorded in write-once,
//     hash-chained, MAC'd entries; a run that would exceed the budget is
//     refused with [ErrBudgetExhausted]. The budget's size comes from the
//     sealed warehouse policy through the consumer-declared [BudgetPolicy]
//     (never from the consumer's flags or config).
//   - Approvals ([Approval]): a definition is approved once by a manager who
//     is not its author (SEC-EXP-5), in a MAC'd record bound to the
//     definition's content hash; a run checks that record, so an edited
//     definition needs a new approval.
//
// # Reading rows
//
// The package reads rows through [Rows], a small iterator that yields each
// row's person pseudonym and the values of the columns the indicator
// reads, asked by name (a projection: a columnar source reads nothing
// else). The storage layer is the caller's: cmd/hdw scans the health store
// and workspaces through package tables.
//
// # Result tables
//
// [WriteParquet] (through package tables, typed) and [WriteCSV] write a
// run's values with the noise parameters on every row and the 95%
// confidence interval of each value.
//
// # G29 criteria
//
// [Result.G29] says how each criterion of the Article 29 Working Party
// (singling out, linkability, inference) is met by the run: no group below
// the threshold and private group selection; no pseudonym, row or stable
// identifier in the output; noise calibrated to the per-person bounds with
// the run's epsilon, within the consumer's budget.
//
// The package does no file or network I/O except through the
// [objstore.Store] given to the ledger and approval functions.
package indicators
