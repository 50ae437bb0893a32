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
	// kindQuery: a status query. A success, or a failure that is iyzico's
	// record of the queried transaction (exchange.record), describes that
	// transaction; a refusal of the query itself says nothing about it.
	kindQuery
	// kindInfo: refundable-sale-info, a read-only call about one sale.
	kindInfo
	// kindEOD: end of day, which closes the batch but moves no money.
	kindEOD
)

// authAction is what the single retry layer does about an answer.
type authAction int

const (
	authNone authAction = iota
	// authRefresh: HTTP 401, the token was refused before anything looked at
	// the request: refresh (or log in), then resend once.
	authRefresh
	// authRelogin: HTTP 401 with 380204, the session was ended: log in
	// again, then resend once.
	authRelogin
	// authDrop: a token error (100310, 100311, 380204) in an answer other than
	// HTTP 401. The device may have acted, so nothing is resent; the token is
	// dropped and the next call logs in again first.
	authDrop
)

// resend reports whether the action is the one resend after a 401.
func (a authAction) resend() bool { return a == authRefresh || a == authRelogin }

// verdict is the classification of one HTTP exchange.
type verdict struct {
	class  Class
	reason Reason
	auth   authAction
}

// echo is what an answer repeats of the request it answers. Both are read
// leniently (a string or a number).
type echo struct {
	Ref       Text `json:"transactionReferenceId"`
	PaymentID Text `json:"paymentId"`
	// unreadable: one of them is neither (an object, an array, a boolean), so
	// the answer may be about another transaction.
	unreadable bool
}

// exchange is one HTTP answer together with what the classification must know
// of the request it answers.
type exchange struct {
	kind   kind
	gmu    bool      // VUK 507: success carries errorCode "0" (or ""), failures no errorGroup
	status int       // the HTTP status
	env    *Envelope // nil when the body was not iyzico JSON
	echo   echo      // what the answer repeats of the request
	ref    string    // the request's transactionReferenceId ("" when none)
	pid    string    // a query's paymentId ("" when none)
	resent bool      // the answer to the one resend after an HTTP 401
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

// classifyAnswer classifies an HTTP answer (docs/upstream.md has the table).
// The order matters: the HTTP status rules come first, then whether the answer
// is about this request at all, then the status, single codes and groups;
// whatever is left is Unknown, because only positive evidence may say that
// nothing happened.
func classifyAnswer(x exchange) verdict {
	switch {
	case x.status == http.StatusUnauthorized:
		// The token was refused before anything else looked at the request.
		// This is the only answer that is ever resent.
		if x.env != nil && strings.TrimSpace(string(x.env.ErrorCode)) == codeSessionTerminated {
			return verdict{class: NotSent, reason: ReasonSessionTerminated, auth: authRelogin}
		}
		return verdict{class: NotSent, reason: ReasonUnauthorized, auth: authRefresh}
	case x.status >= 500:
		// Whatever the body says, the server failed while handling the request.
		return verdict{class: Unknown, reason: ReasonHTTPStatus}
	case x.env == nil:
		if x.status >= 200 && x.status < 300 {
			return verdict{class: Unknown, reason: ReasonUnparseable}
		}
		return verdict{class: Unknown, reason: ReasonHTTPStatus}
	}
	code := strings.TrimSpace(string(x.env.ErrorCode))
	if x.mismatch() {
		// An answer about another transaction proves nothing about this one;
		// a token error in it still means the token is bad.
		v := verdict{class: Unknown, reason: ReasonReferenceMismatch}
		if code == codeInvalidToken || code == codeTokenExpired || code == codeSessionTerminated {
			v.auth = authDrop
		}
		return v
	}
	switch strings.ToLower(strings.TrimSpace(x.env.Status)) {
	case statusSuccess:
		// Spec §7: HTTP 200, status SUCCESS/success, and no error code ("" in
		// VUK 509, "0" or "" in VUK 507). Anything else contradicts itself.
		if x.status == http.StatusOK && (code == "" || (x.gmu && code == "0")) {
			return verdict{class: Approved, reason: ReasonAnswered}
		}
		return verdict{class: Unknown, reason: ReasonInconsistent}
	case statusFailure:
	default:
		// No status, or one we do not know: an answer we cannot read.
		return verdict{class: Unknown, reason: ReasonUnparseable}
	}

	group := strings.ToUpper(strings.TrimSpace(x.env.ErrorGroup))
	if group == "" {
		group = codeGroups[code]
	}
	if x.kind == kindQuery {
		return classifyQueryFailure(x, code, group)
	}
	v := classifyFailure(x.kind, code, group)
	if x.resent && x.kind == kindCard {
		// The first attempt was refused with 401 and the same request went
		// out again. Any refusal now ("reference already used", "amount not
		// available", busy, or a bank's "insufficient funds" because the
		// first copy took the money) may be about the first attempt having
		// been acted on after all: it proves nothing about it.
		if v.class == Declined || (v.class == NotSent && v.reason == ReasonTerminalBusy) {
			return verdict{class: Unknown, reason: ReasonRefusedAfterResend}
		}
	}
	return v
}

// mismatch reports whether the answer names a transaction other than the
// request's: another transactionReferenceId, or, for a query by paymentId,
// another paymentId; or names one in a form that cannot be read.
func (x exchange) mismatch() bool {
	if x.echo.unreadable {
		return true
	}
	if r := strings.TrimSpace(string(x.echo.Ref)); r != "" && x.ref != "" && r != x.ref {
		return true
	}
	if x.kind == kindQuery && x.pid != "" {
		if p := strings.TrimSpace(string(x.echo.PaymentID)); p != "" && p != x.pid {
			return true
		}
	}
	return false
}

// notFoundAsAsked reports whether a "not found" answer is about the key the
// query asked by. For a query by transactionReferenceId (every status query
// of the gateway): 380108 ("Payment not found with id: {0}") naming that
// reference, in its message or its echo — a "not found" of some other id,
// or of none ("… id: null"), proves nothing about this one. For a query by
// paymentId alone: 380107 ("… with paymentId: {0}"). 380109 is about an
// orderId, which bridged never sends.
func (x exchange) notFoundAsAsked(code string) bool {
	switch {
	case x.ref != "":
		return code == codePaymentNotFoundByID &&
			(strings.TrimSpace(string(x.echo.Ref)) == x.ref || strings.Contains(x.env.ErrorMessage, x.ref))
	case x.pid != "":
		return code == codePaymentNotFoundByPID
	}
	return false
}

// record reports whether a failed query answer is iyzico's record of the
// queried transaction (the query succeeded, the transaction had failed) rather
// than a refusal of the query itself. A record is an HTTP 200 that repeats
// the queried transactionReferenceId (or, for a query by paymentId alone, the
// paymentId): TerminalFailureResponse, the schema of a refused VUK 509 query,
// has no such member, and a refused VUK 507 query is an HTTP 400 ("Invalid
// request"). 380111 ("either id is needed") is always about the query.
func (x exchange) record(code string) bool {
	if x.status != http.StatusOK || code == codeIDMissing {
		return false
	}
	if x.ref != "" {
		return strings.TrimSpace(string(x.echo.Ref)) == x.ref
	}
	return x.pid != "" && strings.TrimSpace(string(x.echo.PaymentID)) == x.pid
}

// classifyQueryFailure classifies a status query that answered failure.
func classifyQueryFailure(x exchange, code, group string) verdict {
	switch code {
	case codePaymentNotFoundByPID, codePaymentNotFoundByID, codePaymentNotFoundByOID:
		if x.notFoundAsAsked(code) {
			return verdict{class: NotFound, reason: ReasonAnswered}
		}
		// "Not found" by a key this query did not send (a paymentId, an
		// orderId), or one that does not name what was asked: no evidence
		// that iyzico lacks the transaction.
		return verdict{class: Unknown, reason: ReasonNotFoundByOtherKey}
	}
	if !x.record(code) {
		// The query itself was refused: that says nothing about the queried
		// transaction, which is still whatever it was. A token error refused
		// the query's own token (outside a 401): drop it.
		v := verdict{class: Unknown, reason: ReasonAnswered}
		if code == codeInvalidToken || code == codeTokenExpired || code == codeSessionTerminated {
			v.auth = authDrop
		}
		return v
	}
	// iyzico's record of the queried transaction: it failed. The card rules
	// apply, except that what the device reported is now iyzico's settled
	// record of that transaction.
	switch code {
	case codeTerminalBusy:
		// Refused before the device: it failed, nothing moved.
		return verdict{class: Declined, reason: ReasonTerminalBusy}
	case codeDeviceAppNotStarted:
		return verdict{class: Declined, reason: ReasonDeviceAppNotStarted}
	case codeAuthDeviceNotFound, codeNoDeviceAccess:
		return verdict{class: Declined, reason: ReasonDeviceNotAllowed}
	case codeDeviceTimeout:
		// iyzico only stopped waiting; the device may still have approved.
		return verdict{class: Unknown, reason: ReasonQueriedTimeout}
	case codeDeviceEmptyAnswer, codeDeviceAnswerUnusable:
		return verdict{class: Unknown, reason: ReasonQueriedDeviceError}
	case codeInvalidToken, codeTokenExpired, codeSessionTerminated:
		// Recorded as a token error that was not a 401: the device may have acted.
		return verdict{class: Unknown, reason: ReasonAnswered}
	}
	return classifyFailure(kindCard, code, group)
}

// classifyFailure applies the card-operation rules to a failure answer (also
// used for refundable-sale-info and end of day, and for query records).
func classifyFailure(k kind, code, group string) verdict {
	switch code {
	case codeInvalidToken, codeTokenExpired:
		// A token refusal that is not an HTTP 401: the gateway may have let
		// the request through to the device before failing. Never resent.
		return verdict{class: Unknown, reason: ReasonUnauthorized, auth: authDrop}
	case codeSessionTerminated:
		return verdict{class: Unknown, reason: ReasonSessionTerminated, auth: authDrop}
	case codeTerminalBusy:
		return verdict{class: NotSent, reason: ReasonTerminalBusy}
	case codeDeviceAppNotStarted:
		// Known only by paraphrase ("TechPOS could not be started"): the
		// device reported it, so it may have done more. A query settles it.
		return verdict{class: Unknown, reason: ReasonDeviceAppNotStarted}
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
	switch group {
	case groupBank, groupPayment:
		if declineCodes[code] {
			return verdict{class: Declined, reason: ReasonAnswered}
		}
		// Filed as a bank or payment-service answer, but not a code known
		// to mean a refusal: some say the exchange with the bank did not
		// complete (uncertainCodes, and codes another client lists as "try
		// again": 10240-10246), and a code bridged does not know may be one
		// of them. Only a query settles it.
		if uncertainCodes[code] {
			return verdict{class: Unknown, reason: ReasonAnswered}
		}
		return verdict{class: Unknown, reason: ReasonUnknownCode}
	case groupBusiness, groupValidation:
		return verdict{class: Declined, reason: ReasonAnswered}
	case "":
		if declineCodes[code] {
			// No group (VUK 507 sends none) and one of the documented bank
			// or payment-service refusals.
			return verdict{class: Declined, reason: ReasonAnswered}
		}
	}
	// TIMEOUT_ERROR, SYSTEM_ERROR, DEVICE_ERROR, an unknown group, no code, or
	// a code nobody documented as a refusal: the device may have acted.
	return verdict{class: Unknown, reason: ReasonAnswered}
}

// declineCodes are the classic iyzico payment error codes that mean the bank
// or iyzico's payment service refused the transaction: the only codes that
// are a decline without an errorGroup (VUK 507). The list is iyzico's public
// bank error code list (docs.iyzico.com, "Error Codes" → "Bank Error Codes")
// minus every code whose meaning is that the exchange did not complete;
// docs/upstream.md gives the name of each and the reason for each exclusion.
var declineCodes = map[string]bool{
	"10005": true, // DO_NOT_HONOUR
	"10012": true, // INVALID_TRANSACTION
	"10034": true, // FRAUD_SUSPECT
	"10041": true, // LOST_CARD (pick up)
	"10043": true, // STOLEN_CARD
	"10051": true, // NOT_SUFFICIENT_FUNDS
	"10054": true, // EXPIRED_CARD
	"10057": true, // NOT_PERMITTED_TO_CARDHOLDER
	"10058": true, // NOT_PERMITTED_TO_TERMINAL
	"10084": true, // INVALID_CVC2
	"10093": true, // RESTRICTED_BY_LAW
	"10201": true, // CARD_NOT_PERMITTED
	"10206": true, // INVALID_CVC2_LENGTH
	"10207": true, // REFER_TO_CARD_ISSUER
	"10208": true, // INVALID_MERCHANT_OR_SP
	"10209": true, // BLOCKED_CARD
	"10210": true, // INVALID_CAVV
	"10211": true, // INVALID_ECI
	"10213": true, // BIN_NOT_FOUND
	"10215": true, // INVALID_CARD_NUMBER
	"10217": true, // DEBIT_CARDS_REQUIRES_3DS
	"10222": true, // NOT_PERMITTED_TO_INSTALLMENT
	"10223": true, // REQUIRES_DAY_END
	"10225": true, // RESTRICTED_CARD
	"10226": true, // EXCEEDS_ALLOWABLE_PIN_TRIES
	"10227": true, // INVALID_PIN
	"10229": true, // INVALID_EXPIRE_YEAR_MONTH
	"10232": true, // INVALID_AMOUNT
}

// uncertainCodes are bank error codes that say the exchange with the bank did
// not complete, or that iyzico does not know what happened. Even filed under
// BANK_ERROR or PAYMENT_ERROR they are not evidence that nothing moved.
var uncertainCodes = map[string]bool{
	"10204": true, // UNKNOWN: a general error during the payment
	"10214": true, // COMMUNICATION_OR_SYSTEM_ERROR
	"10216": true, // NO_SUCH_ISSUER (reported as a temporary interruption)
	"10219": true, // REQUEST_TIMEOUT: the request to the bank timed out
	"10220": true, // third parties disagree on it (DECLINED vs COMMUNICATION_OR_SYSTEM_ERROR)
	"10228": true, // ISSUER_OR_SWITCH_INOPERATIVE
	"10240": true, // TIMEOUT (listed as "try again" by an independent client, kasapay-iyzico)
	"10241": true, // REMOTE_ERROR (idem)
	"10242": true, // LOCAL_ERROR (idem)
	"10246": true, // REFUND_DECLINE, "try later" (idem)
	"-1":    true, // UNKNOWN
}
