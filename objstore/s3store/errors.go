package s3store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"hdw/objstore"
)

// classify maps an SDK error to the store fault it is (objstore.ErrAccessDenied,
// ErrNoBucket, ErrUnreachable, ErrWrongRegion), or nil.
func classify(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
			"AllAccessDisabled", "AccountProblem", "InvalidSecurity", "Forbidden",
			"XAdminUserNotFound": // versitygw's answer to an unknown access key id
			return objstore.ErrAccessDenied
		case "NoSuchBucket":
			return objstore.ErrNoBucket
		case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException", "AuthorizationQueryParametersError":
			return objstore.ErrWrongRegion
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusForbidden, http.StatusUnauthorized:
			return objstore.ErrAccessDenied
		case http.StatusMovedPermanently, http.StatusTemporaryRedirect:
			return objstore.ErrWrongRegion
		}
	}
	var se *smithyhttp.RequestSendError
	var ne net.Error
	if errors.As(err, &se) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return objstore.ErrUnreachable
	}
	return nil
}

// wrapErr turns an SDK error into an error for messages: a store fault
// (classify) names what failed and what to do; other errors keep their
// API code and HTTP status only. The SDK's own message is never used, as
// it may carry the request URL, that is the object key: a client's file
// and folder names.
func wrapErr(op string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("s3 %s: %w", op, context.Canceled)
	}
	if kind := classify(err); kind != nil {
		return fmt.Errorf("s3 %s: %w", op, kind)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("s3 %s: %s%w", op, ae.ErrorCode(), errCode{err})
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return fmt.Errorf("s3 %s: HTTP %d%w", op, re.HTTPStatusCode(), errCode{err})
	}
	return fmt.Errorf("s3 %s: request failed%w", op, errCode{err})
}

// errCode keeps the SDK error for errors.Is/As without printing it.
type errCode struct{ err error }

func (e errCode) Error() string { return "" }
func (e errCode) Unwrap() error { return e.err }
