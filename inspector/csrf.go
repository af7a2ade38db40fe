package inspector

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A form's CSRF token is "UNIX.MAC": the time it was issued and an
// HMAC-SHA256, under the handler's secret, of that time and the action.
// A page from this handler is the only place to get one (another site
// cannot read it), and a token older than tokenTTL is refused, so a page
// left open for days must be reloaded before it acts. The request must
// also come from this site: http.CrossOriginProtection checks
// Sec-Fetch-Site and Origin.

const tokenTTL = 12 * time.Hour

// Errors of the CSRF check; the handler answers them with 403.
var (
	errNoToken   = errors.New("the form has no CSRF token: reload the page")
	errBadToken  = errors.New("the form's CSRF token is not valid: reload the page")
	errOldToken  = errors.New("the form's CSRF token has expired: reload the page")
	errCrossSite = errors.New("cross-site request refused")
)

func (h *handler) token(action string) string {
	at := strconv.FormatInt(h.cfg.now().Unix(), 10)
	return at + "." + h.mac(at, action)
}

func (h *handler) mac(at, action string) string {
	m := hmac.New(sha256.New, h.cfg.secret)
	m.Write([]byte("weft-inspector\x00" + action + "\x00" + at))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF checks a mutating request: same site, and a valid token for
// action in the form field "csrf".
func (h *handler) checkCSRF(r *http.Request, action string) error {
	if err := h.cop.Check(r); err != nil {
		return errCrossSite
	}
	tok := r.PostFormValue("csrf")
	if tok == "" {
		return errNoToken
	}
	at, sum, ok := strings.Cut(tok, ".")
	if !ok {
		return errBadToken
	}
	if !hmac.Equal([]byte(sum), []byte(h.mac(at, action))) {
		return errBadToken
	}
	sec, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return errBadToken
	}
	if age := h.cfg.now().Sub(time.Unix(sec, 0)); age > tokenTTL || age < -time.Minute {
		return errOldToken
	}
	return nil
}
