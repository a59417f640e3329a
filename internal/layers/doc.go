// Package layers holds the allowed import graph of hdw and the test that
// enforces it (layers_test.go); docs/ARCHITECTURE.md shows the same graph,
// checked by the same test.
package layers
