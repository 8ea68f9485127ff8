// Package tclient dials Temporal the same way in the worker and the starter: address,
// namespace, API key or mTLS from the environment, the zerolog adapter, and the
// encrypting data converter so no payload leaves the process in plaintext.
package tclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/sentinelone-connector/s1conn/codec"
	"github.com/sentinelone-connector/s1conn/config"
	"github.com/sentinelone-connector/s1conn/logging"
	"github.com/sentinelone-connector/s1conn/model"
)

// Options builds client options from the configuration.
func Options(cfg *config.Config, log zerolog.Logger, keys *codec.KeyRing) (client.Options, error) {
	o := client.Options{
		HostPort:      cfg.TemporalAddress,
		Namespace:     cfg.TemporalNamespace,
		Logger:        logging.NewTemporalLogger(log),
		DataConverter: codec.NewDataConverter(keys),
	}
	if cfg.TemporalAPIKey != "" {
		o.Credentials = client.NewAPIKeyStaticCredentials(cfg.TemporalAPIKey)
	}
	if cfg.TemporalTLSCert != "" || cfg.TemporalTLSCA != "" || cfg.TemporalAPIKey != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TemporalTLSServerName}
		if cfg.TemporalTLSCert != "" {
			cert, err := tls.LoadX509KeyPair(cfg.TemporalTLSCert, cfg.TemporalTLSKey)
			if err != nil {
				return o, fmt.Errorf("loading TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		if cfg.TemporalTLSCA != "" {
			pem, err := os.ReadFile(cfg.TemporalTLSCA)
			if err != nil {
				return o, fmt.Errorf("reading TEMPORAL_TLS_CA: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return o, errors.New("TEMPORAL_TLS_CA holds no PEM certificate")
			}
			tc.RootCAs = pool
		}
		o.ConnectionOptions.TLS = tc
	}
	return o, nil
}

// Dial connects to Temporal.
func Dial(ctx context.Context, cfg *config.Config, log zerolog.Logger, keys *codec.KeyRing) (client.Client, error) {
	o, err := Options(cfg, log, keys)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c, err := client.DialContext(dctx, o)
	if err != nil {
		return nil, fmt.Errorf("connecting to Temporal at %s (namespace %s): %w; start it (`make tools` then `temporal server start-dev`) or fix TEMPORAL_ADDRESS", cfg.TemporalAddress, cfg.TemporalNamespace, err)
	}
	return c, nil
}

// SearchAttributes are the custom search attributes the workflows upsert.
var SearchAttributes = map[string]enumspb.IndexedValueType{
	model.SearchAttrState:          enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	model.SearchAttrConnectionID:   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	model.SearchAttrLastSyncStatus: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	model.SearchAttrTokenExpiresAt: enumspb.INDEXED_VALUE_TYPE_DATETIME,
}

// RegisterSearchAttributes adds the connector's search attributes to the namespace (idempotent).
func RegisterSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("listing search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range SearchAttributes {
		if _, ok := resp.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("registering search attributes %v: %w (on Temporal Cloud add them in the namespace settings)", keys(missing), err)
	}
	return nil
}

func keys(m map[string]enumspb.IndexedValueType) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
