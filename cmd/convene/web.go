package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"

	"github.com/convene/convene/mailer"
	"github.com/convene/convene/metrics"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
	"github.com/convene/convene/web"
)

// webConfig is serve's settings of the page and sign-up.
type webConfig struct {
	clientIPHeader string
}

func addWebFlags(fs *flag.FlagSet) *webConfig {
	c := &webConfig{}
	fs.StringVar(&c.clientIPHeader, "client-ip-header", "", "behind a reverse proxy: the header naming the client (X-Forwarded-For, X-Real-IP), for the sign-up rate limit")
	return c
}

// newPage returns the landing page and sign-up of serve: confirmation
// mails go through w, and a change of subscribers re-plans w's
// reminders. The token secret is CONVENE_SECRET, or one made once and
// kept in the state file.
func newPage(ctx context.Context, c *webConfig, st *store.Store, w *mailer.Worker, m *metrics.Metrics, addr string, log *slog.Logger) (*web.Server, error) {
	secret := []byte(os.Getenv("CONVENE_SECRET"))
	if len(secret) == 0 {
		var err error
		if secret, err = st.Secret(ctx, "web", 32); err != nil {
			return nil, err
		}
	} else if len(secret) < 16 {
		return nil, usageError{errors.New("CONVENE_SECRET: must be at least 16 characters")}
	}
	cfg := web.Config{
		Store: st, Mailer: w, Secret: secret, BaseURL: "http://" + addr,
		Log: log.With("component", "web"),
		Changed: func(ctx context.Context) {
			if err := w.Replan(ctx); err != nil {
				log.Error("re-plan reminders after a subscriber change", "err", err)
			}
		},
		Refused: func(l web.Limit) { m.SignUpRefused(string(l)) },
	}
	if c.clientIPHeader != "" {
		cfg.ClientIP = web.HeaderClient(c.clientIPHeader)
	}
	return web.New(cfg)
}

// subscriberRecipients returns the confirmed subscribers as recipients of
// the reminders planned from s, each with their zone, series and
// unsubscribe link.
func subscriberRecipients(ctx context.Context, s *schedule.Schedule, st *store.Store, unsubscribeURL func(*schedule.Schedule, store.Subscriber) string) ([]mailer.Recipient, error) {
	subs, err := st.Subscribers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]mailer.Recipient, 0, len(subs))
	for _, sub := range subs {
		r := mailer.Recipient{Address: sub.Email, Series: sub.Series}
		if z, err := schedule.LoadZone(sub.Zone); err == nil {
			r.Zone = z
		}
		if unsubscribeURL != nil {
			r.UnsubscribeURL = unsubscribeURL(s, sub)
		}
		out = append(out, r)
	}
	return out, nil
}
