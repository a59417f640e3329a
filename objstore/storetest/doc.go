// Package storetest is the conformance suite every objstore.Store passes
// (the local folder and S3 against a real server): [Run].
package storetest
