package upstream

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
)

// iyzico error codes that the classification treats individually (spec §8).
const (
	codeInvalidToken               = "100310" // SYSTEM_ERROR: invalid token
	codeTokenExpired               = "100311" // SYSTEM_ERROR: access token expired
	codeAuthDeviceNotFound         = "380101" // BUSINESS_ERROR: auth device not found for the user
	codeNoDeviceAccess             = "380102" // SYSTEM_ERROR: no access to this auth device
	codeDeviceTimeout              = "380103" // TIMEOUT_ERROR: timeout waiting for the device
	codeRequestInvalid             = "380104" // VALIDATION_ERROR
	codeUnsupportedModel           = "380105" // VALIDATION_ERROR
	codePaymentNotFoundByPID       = "380107" // BUSINESS_ERROR: payment not found with paymentId
	codePaymentNotFoundByID        = "380108" // BUSINESS_ERROR: payment not found with id
	codePaymentNotFoundByOID       = "380109" // BUSINESS_ERROR: payment not found with orderId
	codeIDMissing                  = "380111" // VALIDATION_ERROR: paymentId or transactionReferenceId needed
	codeAmountUnavailable          = "380112" // BUSINESS_ERROR: amount not available to cancel/refund
	codeTerminalBusy               = "380201" // DEVICE_ERROR: terminal busy
	codeDeviceAppNotStarted        = "380202" // DEVICE_ERROR: payment application could not be started
	codeDeviceEmptyAnswer          = "380203" // DEVICE_ERROR: device answered nothing
	codeSessionTerminated          = "380204" // DEVICE_ERROR: refresh failed, session terminated
	codeDeviceAnswerUnusable       = "380205" // DEVICE_ERROR: device answer could not be built
	groupTimeout                   = "TIMEOUT_ERROR"
	groupSystem                    = "SYSTEM_ERROR"
	groupBank                      = "BANK_ERROR"
	groupDevice                    = "DEVICE_ERROR"
	groupPayment                   = "PAYMENT_ERROR"
	groupBusiness                  = "BUSINESS_ERROR"
	groupValidation                = "VALIDATION_ERROR"
	statusSuccess                  = "success"
	statusFailure                  = "failure"
	maxAnswerBytes           int64 = 1 << 20
)

// codeGroups is the spec's code → group table. VUK 507 answers carry no
// errorGroup, so a known code supplies it.
var codeGroups = map[string]string{
	codeDeviceTimeout:        groupTimeout,
	codeInvalidToken:         groupSystem,
	codeTokenExpired:         groupSystem,
	codeNoDeviceAccess:       groupSystem,
	codeTerminalBusy:         groupDevice,
	codeDeviceAppNotStarted:  groupDevice,
	codeDeviceEmptyAnswer:    groupDevice,
	codeSessionTerminated:    groupDevice,
	codeDeviceAnswerUnusable: groupDevice,
	codeRequestInvalid:       groupValidation,
	codeUnsupportedModel:     groupValidation,
	codeIDMissing:            groupValidation,
	codeAuthDeviceNotFound:   groupBusiness,
	codePaymentNotFoundByPID: groupBusiness,
	codePaymentNotFoundByID:  groupBusiness,
	codePaymentNotFoundByOID: groupBusiness,
	codeAmountUnavailable:    groupBusiness,
}

// kind tells the classification what an answer is about.
type kind int

const (
	// kindCard: an operation that may move money or open a sale on the device
	// (payment, void, refund, partial start/add/complete).
	kindCard kind = iota
	// kindQuery: a status query. Its status and error describe the queried
	// transaction, so a query-level refusal (validation) says nothing about it.
	kindQuery
	// kindInfo: refundable-sale-info, a read-only call about one sale.
	kindInfo
	// kindEOD: end of day, which closes the batch but moves no money.
	kindEOD
)

// authAction is what the single retry layer does about an answer.
type authAction int

const (
	authNone    authAction = iota
	authRefresh            // token refused: refresh (or log in), then resend once
	authRelogin            // session terminated: log in again, then resend once
)

// verdict is the classification of one HTTP exchange.
type verdict struct {
	class  Class
	reason Reason
	auth   authAction
}

// classifyTransport classifies a call that got no HTTP answer. wrote tells
// whether any part of the request was handed to the connection: before that
// nothing can have reached iyzico, after it anything may have.
func classifyTransport(err error, wrote bool) verdict {
	if !wrote {
		return verdict{class: NotSent, reason: ReasonNotConnected}
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return verdict{class: Unknown, reason: ReasonTimeout}
	case errors.Is(err, context.Canceled):
		return verdict{class: Unknown, reason: ReasonCanceled}
	}
	return verdict{class: Unknown, reason: ReasonConnectionLost}
}

// classifyAnswer classifies an HTTP answer. env is the decoded envelope, or
// nil when the body was not iyzico JSON. The order matters: the HTTP status
// rules come first, then single codes, then groups; whatever is left is
// Unknown, because only positive evidence may say that nothing happened.
func classifyAnswer(k kind, httpStatus int, env *Envelope) verdict {
	switch {
	case httpStatus == http.StatusUnauthorized:
		// The token was refused before anything else looked at the request.
		if env != nil && strings.TrimSpace(string(env.ErrorCode)) == codeSessionTerminated {
			return verdict{class: NotSent, reason: ReasonSessionTerminated, auth: authRelogin}
		}
		return verdict{class: NotSent, reason: ReasonUnauthorized, auth: authRefresh}
	case httpStatus >= 500:
		// Whatever the body says, the server failed while handling the request.
		return verdict{class: Unknown, reason: ReasonHTTPStatus}
	case env == nil:
		if httpStatus >= 200 && httpStatus < 300 {
			return verdict{class: Unknown, reason: ReasonUnparseable}
		}
		return verdict{class: Unknown, reason: ReasonHTTPStatus}
	}
	ok := httpStatus >= 200 && httpStatus < 300
	switch strings.ToLower(strings.TrimSpace(env.Status)) {
	case statusSuccess:
		if ok {
			return verdict{class: Approved, reason: ReasonAnswered}
		}
		// A success body on an error status contradicts itself.
		return verdict{class: Unknown, reason: ReasonHTTPStatus}
	case statusFailure:
	default:
		// No status, or one we do not know: an answer we cannot read.
		return verdict{class: Unknown, reason: ReasonUnparseable}
	}

	code := strings.TrimSpace(string(env.ErrorCode))
	switch code {
	case codeInvalidToken, codeTokenExpired:
		return verdict{class: NotSent, reason: ReasonUnauthorized, auth: authRefresh}
	case codeSessionTerminated:
		return verdict{class: NotSent, reason: ReasonSessionTerminated, auth: authRelogin}
	case codeTerminalBusy:
		return verdict{class: NotSent, reason: ReasonTerminalBusy}
	case codeDeviceAppNotStarted:
		return verdict{class: NotSent, reason: ReasonDeviceAppNotStarted}
	case codeAuthDeviceNotFound, codeNoDeviceAccess:
		return verdict{class: NotSent, reason: ReasonDeviceNotAllowed}
	case codeDeviceTimeout, codeDeviceEmptyAnswer, codeDeviceAnswerUnusable:
		return verdict{class: Unknown, reason: ReasonAnswered}
	case codePaymentNotFoundByPID, codePaymentNotFoundByID, codePaymentNotFoundByOID:
		if k == kindQuery || k == kindInfo {
			return verdict{class: NotFound, reason: ReasonAnswered}
		}
		// A void or refund of a payment iyzico does not know did nothing.
		return verdict{class: Declined, reason: ReasonAnswered}
	}

	group := strings.ToUpper(strings.TrimSpace(env.ErrorGroup))
	if group == "" {
		group = codeGroups[code]
	}
	switch group {
	case groupBank, groupPayment:
		return verdict{class: Declined, reason: ReasonAnswered}
	case groupBusiness, groupValidation:
		if k == kindQuery && code != codeAmountUnavailable {
			// The query itself was refused; the queried transaction is
			// still whatever it was.
			return verdict{class: Unknown, reason: ReasonAnswered}
		}
		return verdict{class: Declined, reason: ReasonAnswered}
	}
	if group == "" && forwardedCode(code) {
		// No group (VUK 507 sends none) and a code from outside the
		// terminal-host's own six-digit namespace: a bank or payment-service
		// answer forwarded by iyzico, the two groups that mean a decline.
		return verdict{class: Declined, reason: ReasonAnswered}
	}
	// TIMEOUT_ERROR, SYSTEM_ERROR, DEVICE_ERROR, an unknown group, no code, or
	// an unknown terminal-host code: the device may have acted.
	return verdict{class: Unknown, reason: ReasonAnswered}
}

// forwardedCode reports whether an errorCode is not one of the terminal-host's
// own codes. Those are all six digits (1003xx, 3801xx, 3802xx); the bank's
// response codes and the classic iyzico payment codes that BANK_ERROR and
// PAYMENT_ERROR forward are shorter (e.g. "51", "10051"). "0" is the VUK 507
// success code and proves nothing on a failure.
func forwardedCode(code string) bool {
	if code == "" || code == "0" || len(code) >= 6 {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}
