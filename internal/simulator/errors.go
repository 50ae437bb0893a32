package simulator

import "fmt"

// Error groups, returned in VUK 509's errorGroup (spec §8).
const (
	GroupTimeout    = "TIMEOUT_ERROR"
	GroupSystem     = "SYSTEM_ERROR"
	GroupBank       = "BANK_ERROR"
	GroupDevice     = "DEVICE_ERROR"
	GroupPayment    = "PAYMENT_ERROR"
	GroupBusiness   = "BUSINESS_ERROR"
	GroupValidation = "VALIDATION_ERROR"
)

// Error codes the simulator answers. The 1003xx/3801xx/3802xx codes are iyzico's
// (spec §8). The 3899xx codes are the simulator's own: iyzico documents no code
// for these business-rule refusals, so tests and bridged must match them by
// errorGroup (BUSINESS_ERROR), never by number.
const (
	CodeInvalidToken        = "100310"
	CodeTokenExpired        = "100311"
	CodeDeviceNotFound      = "380101"
	CodeTimeout             = "380103"
	CodeValidation          = "380104"
	CodePaymentNotFound     = "380107"
	CodeReferenceNotFound   = "380108"
	CodeNoIdentifier        = "380111"
	CodeAmountNotAvailable  = "380112"
	CodeDeviceBusy          = "380201"
	CodeDeviceAppNotStarted = "380202"
	CodeDeviceEmptyResponse = "380203"
	CodeSessionTerminated   = "380204"
	CodeDeviceBadResponse   = "380205"

	CodeBankInsufficientFunds = "10051" // forwarded bank answer (BANK_ERROR)
	CodePaymentRejected       = "10012" // forwarded payment-service answer (PAYMENT_ERROR)
	CodeUnclassified          = "99"    // a short code no one documents, with no errorGroup (script .59)

	CodeSimDuplicateReference = "389901"
	CodeSimVoidNotAllowed     = "389902"
	CodeSimSaleIncomplete     = "389903"
	CodeSimNotAllowed         = "389904"
	CodeSimSaleClosed         = "389905"
)

// apiError is one iyzico failure: code, group and the texts in both languages.
// Messages are given as third parties report them (spec §8 [P]); callers must
// match on the code, never on the text.
type apiError struct {
	code, group  string
	en, tr       string // errorMessage
	consEN, cons string // consumerErrorMessage (end-user friendly), en and tr
	auth         bool   // an authentication failure: HTTP 401 whatever the endpoint
}

func (e *apiError) message(english bool) string {
	if english {
		return e.en
	}
	return e.tr
}

func (e *apiError) consumerMessage(english bool) string {
	if english {
		return e.consEN
	}
	return e.cons
}

const (
	consRetryEN = "The transaction could not be completed. Please try again."
	consRetryTR = "İşlem tamamlanamadı. Lütfen tekrar deneyiniz."
	consCardEN  = "Your card was declined. Please use another card."
	consCardTR  = "Kartınız reddedildi. Lütfen başka bir kart kullanınız."
)

func errInvalidToken() *apiError {
	return &apiError{code: CodeInvalidToken, group: GroupSystem, auth: true,
		en: "Invalid token!", tr: "Geçersiz token!", consEN: consRetryEN, cons: consRetryTR}
}

func errTokenExpired() *apiError {
	return &apiError{code: CodeTokenExpired, group: GroupSystem, auth: true,
		en: "Access token expired!", tr: "Erişim tokenının süresi doldu!", consEN: consRetryEN, cons: consRetryTR}
}

func errSessionTerminated() *apiError {
	return &apiError{code: CodeSessionTerminated, group: GroupDevice, auth: true,
		en:     "Error occurred during refresh token and user session has been terminated",
		tr:     "Refresh token sırasında hata oluştu ve kullanıcı oturumu sonlandırıldı",
		consEN: consRetryEN, cons: consRetryTR}
}

func errDeviceNotFound(username string) *apiError {
	return &apiError{code: CodeDeviceNotFound, group: GroupBusiness,
		en:     "Auth Device not found! For username: " + username,
		tr:     "Yetkili cihaz bulunamadı! Kullanıcı adı: " + username,
		consEN: consRetryEN, cons: consRetryTR}
}

func errTimeout() *apiError {
	return &apiError{code: CodeTimeout, group: GroupTimeout,
		en: "Timeout occurred while waiting for device response!", tr: "Cihaz yanıtı beklenirken zaman aşımı oluştu!",
		consEN: consRetryEN, cons: consRetryTR}
}

func errValidation(details string) *apiError {
	return &apiError{code: CodeValidation, group: GroupValidation,
		en: "Validation error: " + details, tr: "Doğrulama hatası: " + details,
		consEN: consRetryEN, cons: consRetryTR}
}

func errPaymentNotFound(paymentID string) *apiError {
	return &apiError{code: CodePaymentNotFound, group: GroupBusiness,
		en: "Payment not found with paymentId: " + paymentID, tr: "Ödeme bulunamadı, paymentId: " + paymentID,
		consEN: consRetryEN, cons: consRetryTR}
}

func errReferenceNotFound(ref string) *apiError {
	return &apiError{code: CodeReferenceNotFound, group: GroupBusiness,
		en: "Payment not found with id: " + ref, tr: "Ödeme bulunamadı, id: " + ref,
		consEN: consRetryEN, cons: consRetryTR}
}

func errNoIdentifier() *apiError {
	return &apiError{code: CodeNoIdentifier, group: GroupValidation,
		en:     "Either transactionReferenceId or paymentId must be provided",
		tr:     "transactionReferenceId veya paymentId alanlarından biri gönderilmelidir",
		consEN: consRetryEN, cons: consRetryTR}
}

func errAmountNotAvailable(detail string) *apiError {
	return &apiError{code: CodeAmountNotAvailable, group: GroupBusiness,
		en:     "Amount to cancel/refund is not available: " + detail,
		tr:     "İptal/iade edilecek tutar uygun değil: " + detail,
		consEN: consRetryEN, cons: consRetryTR}
}

func errDeviceBusy() *apiError {
	return &apiError{code: CodeDeviceBusy, group: GroupDevice,
		en:     "Terminal is currently busy, please wait for the previous operation to complete",
		tr:     "Terminal şu anda meşgul, lütfen önceki işlemin tamamlanmasını bekleyiniz",
		consEN: consRetryEN, cons: consRetryTR}
}

func errDeviceAppNotStarted() *apiError {
	return &apiError{code: CodeDeviceAppNotStarted, group: GroupDevice,
		en: "Device application (TechPOS) could not be started", tr: "Cihaz uygulaması (TechPOS) başlatılamadı",
		consEN: consRetryEN, cons: consRetryTR}
}

func errDeviceEmptyResponse() *apiError {
	return &apiError{code: CodeDeviceEmptyResponse, group: GroupDevice,
		en: "Device returned an empty response", tr: "Cihazdan boş yanıt döndü",
		consEN: consRetryEN, cons: consRetryTR}
}

func errDeviceBadResponse() *apiError {
	return &apiError{code: CodeDeviceBadResponse, group: GroupDevice,
		en: "Device response could not be built", tr: "Cihaz yanıtı oluşturulamadı",
		consEN: consRetryEN, cons: consRetryTR}
}

func errBankDeclined() *apiError {
	return &apiError{code: CodeBankInsufficientFunds, group: GroupBank,
		en: "Insufficient funds", tr: "Yetersiz bakiye", consEN: consCardEN, cons: consCardTR}
}

func errPaymentRejected() *apiError {
	return &apiError{code: CodePaymentRejected, group: GroupPayment,
		en: "Invalid transaction", tr: "Geçersiz işlem", consEN: consCardEN, cons: consCardTR}
}

// errUnclassified is a failure with a short code that no documentation
// explains and no errorGroup (even in VUK 509): proof of nothing.
func errUnclassified() *apiError {
	return &apiError{code: CodeUnclassified, group: "",
		en: "Transaction could not be completed", tr: "İşlem tamamlanamadı", consEN: consRetryEN, cons: consRetryTR}
}

func errDuplicateReference(ref string) *apiError {
	return &apiError{code: CodeSimDuplicateReference, group: GroupBusiness,
		en:     fmt.Sprintf("transactionReferenceId %s was already used on this device", ref),
		tr:     fmt.Sprintf("transactionReferenceId %s bu cihazda daha önce kullanıldı", ref),
		consEN: consRetryEN, cons: consRetryTR}
}

func errVoidNotAllowed(why string) *apiError {
	return &apiError{code: CodeSimVoidNotAllowed, group: GroupBusiness,
		en: "Payment cannot be voided: " + why + "; use refund", tr: "Ödeme iptal edilemez: " + why + "; iade kullanınız",
		consEN: consRetryEN, cons: consRetryTR}
}

func errSaleIncomplete(remaining amount) *apiError {
	return &apiError{code: CodeSimSaleIncomplete, group: GroupBusiness,
		en:     "Sale cannot be completed, remaining payment amount: " + remaining.String(),
		tr:     "Satış tamamlanamaz, kalan ödeme tutarı: " + remaining.String(),
		consEN: consRetryEN, cons: consRetryTR}
}

func errNotAllowed(why string) *apiError {
	return &apiError{code: CodeSimNotAllowed, group: GroupBusiness,
		en: "Operation not allowed: " + why, tr: "İşleme izin verilmiyor: " + why,
		consEN: consRetryEN, cons: consRetryTR}
}

func errSaleClosed(saleNumber string) *apiError {
	return &apiError{code: CodeSimSaleClosed, group: GroupBusiness,
		en: "Sale " + saleNumber + " is already completed", tr: "Satış " + saleNumber + " zaten tamamlandı",
		consEN: consRetryEN, cons: consRetryTR}
}
