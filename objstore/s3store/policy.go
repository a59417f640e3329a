package s3store

import (
	"encoding/json"
	"fmt"
)

// ClientPolicy returns the least-privilege IAM policy of a client's upload
// prefix (SP-050-003): listing limited to CLIENT/*, get and put on
// CLIENT/* only, nothing else in the bucket.
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

func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
