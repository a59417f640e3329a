// Package storetest is the conformance suite every objstore.Store passes
// (the local folder and S3 against a real server): [Run]; and what other
// packages' tests share to set up a store: [Local] opens a local one,
// [Hostile] fills an upload folder with symlinks leaving it and a FIFO.
package storetest
