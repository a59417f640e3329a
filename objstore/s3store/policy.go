package s3store

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ClientPolicy returns the least-privilege IAM policy of a client's upload
// prefix (SP-050-003): listing limited to CLIENT/*, get and put on
// CLIENT/* only, nothing else in the bucket. It narrows the SP-050-003
// example: no ACL or version actions, multipart abort allowed, and plain
// HTTP denied (SEC-RES-3). It returns an error for a name that is empty,
// has characters other than letters, digits, '-', '_', '.', starts with a
// punctuation mark or contains "..".
func ClientPolicy(bucket, client string) ([]byte, error) {
	if !validName(bucket) || !validName(client) {
		return nil, fmt.Errorf("bucket and client names must be letters, digits, '-', '_' or '.'")
	}
	p := map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{
			{
				"Sid":       "ListOwnPrefixOnly",
				"Effect":    "Allow",
				"Action":    []string{"s3:ListBucket"},
				"Resource":  []string{"arn:aws:s3:::" + bucket},
				"Condition": map[string]any{"StringLike": map[string]any{"s3:prefix": []string{client + "/*", client + "/"}}},
			},
			{
				"Sid":      "ReadWriteOwnPrefixOnly",
				"Effect":   "Allow",
				"Action":   []string{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
				"Resource": []string{"arn:aws:s3:::" + bucket + "/" + client + "/*"},
			},
			{
				"Sid":       "DenyPlainHTTP",
				"Effect":    "Deny",
				"Action":    "s3:*",
				"Resource":  []string{"arn:aws:s3:::" + bucket, "arn:aws:s3:::" + bucket + "/" + client + "/*"},
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			},
		},
	}
	return json.MarshalIndent(p, "", "  ")
}

// validName accepts a client or bucket name: letters, digits, '-', '_', '.',
// starting with a letter or digit (no "..", no wildcards, no slashes).
func validName(s string) bool {
	if s == "" || len(s) > 128 || strings.Contains(s, "..") {
		return false
	}
	if c := s[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
