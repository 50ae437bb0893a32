package store

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/oauth2"
)

// The upstream OAuth2 token is kept so that a restart does not log in again.
// It is stored unencrypted in the journal file, which is created 0600 inside
// a 0700 data dir; it is never logged. The refresh token alone is useless:
// iyzico's refresh grant also needs the client secret, which bridged reads
// from its configuration and never stores here.
const tokenV1 byte = 1

type tokenRecordV1 struct {
	AccessToken  string `json:"access_token,omitempty"`
	TokenType    string `json:"token_type,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Expiry       string `json:"expiry,omitempty"`
	ExpiresIn    int64  `json:"expires_in,omitempty"`
}

// LoadToken returns the saved upstream token, or nil, nil when none is saved.
func (s *Store) LoadToken(ctx context.Context) (*oauth2.Token, error) {
	var tok *oauth2.Token
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketTokens).Get(tokenKey)
		if v == nil {
			return nil
		}
		if len(v) == 0 || v[0] != tokenV1 {
			return fmt.Errorf("%w: token record version %d", ErrCorrupt, firstByte(v))
		}
		var r tokenRecordV1
		if err := json.Unmarshal(v[1:], &r); err != nil {
			return fmt.Errorf("%w: token record: %w", ErrCorrupt, err)
		}
		exp, err := decodeTime("expiry", r.Expiry)
		if err != nil {
			return err
		}
		tok = &oauth2.Token{AccessToken: r.AccessToken, TokenType: r.TokenType, RefreshToken: r.RefreshToken, Expiry: exp, ExpiresIn: r.ExpiresIn}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: load token: %w", err)
	}
	return tok, nil
}

// SaveToken replaces the saved token in one durable commit; nil deletes it.
// Only the standard fields are kept (not the token response's extra fields).
func (s *Store) SaveToken(ctx context.Context, tok *oauth2.Token) error {
	var v []byte
	if tok != nil {
		js, err := json.Marshal(tokenRecordV1{
			AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken,
			Expiry: encodeTime(tok.Expiry), ExpiresIn: tok.ExpiresIn,
		})
		if err != nil {
			return fmt.Errorf("store: encode token: %w", err)
		}
		v = append([]byte{tokenV1}, js...)
	}
	return s.update(ctx, "save token", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		if v == nil {
			return b.Delete(tokenKey)
		}
		return b.Put(tokenKey, v)
	})
}
