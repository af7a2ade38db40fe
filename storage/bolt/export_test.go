package bolt

import (
	"time"

	"go.etcd.io/bbolt"
)

// WithBoltOptions lets a test adjust the bbolt options of the file's main
// open (for example to install an OpenFile hook). Tests only.
func WithBoltOptions(f func(*bbolt.Options)) Option {
	return func(o *options) { o.tune = f }
}

// WithAckLinger sets how long a batch of Acks alone waits for a Create or
// Commit to share its transaction (see writeLoop). Tests only.
func WithAckLinger(d time.Duration) Option {
	return func(o *options) { o.linger = &d }
}

// WithoutFileCheck makes Open skip its check of the file before bbolt maps
// it. Tests only: it shows that the damaged-file tests fail without it.
func WithoutFileCheck() Option {
	return func(o *options) { o.noCheck = true }
}
