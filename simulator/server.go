package simulator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"time"
)

// Server is a running simulator listener.
type Server struct {
	URL   string // e.g. https://127.0.0.1:PORT
	CAPEM []byte // CA certificate (PEM) when serving TLS
	Addr  string // host:port
	srv   *http.Server
	done  chan struct{}
}

// Close stops the server and closes active connections.
func (sv *Server) Close() error {
	err := sv.srv.Close()
	<-sv.done
	return err
}

// Start serves on 127.0.0.1 with a random port. With tls it generates a
// fresh ECDSA CA and leaf certificate (SANs 127.0.0.1, ::1, localhost) and
// serves HTTPS (HTTP/1.1).
func (s *Simulator) Start(tls bool) (*Server, error) { return s.StartAddr("127.0.0.1:0", tls) }

// StartAddr is Start on a chosen address.
func (s *Simulator) StartAddr(addr string, useTLS bool) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	sv := &Server{Addr: ln.Addr().String(), URL: "http://" + ln.Addr().String(), done: make(chan struct{})}
	sv.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	if useTLS {
		caPEM, cert, err := newCertificates()
		if err != nil {
			ln.Close()
			return nil, err
		}
		ln = tls.NewListener(ln, &tls.Config{
			Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"},
		})
		sv.URL = "https://" + sv.Addr
		sv.CAPEM = caPEM
		s.srvMu.Lock()
		s.caPEM = caPEM
		s.srvMu.Unlock()
	}
	go func() {
		defer close(sv.done)
		sv.srv.Serve(ln)
	}()
	return sv, nil
}

// WriteCAPEM writes the CA certificate of the last TLS Start to path.
func (s *Simulator) WriteCAPEM(path string) error {
	s.srvMu.Lock()
	pemBytes := s.caPEM
	s.srvMu.Unlock()
	if pemBytes == nil {
		return errors.New("simulator: no TLS server started")
	}
	return os.WriteFile(path, pemBytes, 0o644)
}

// newCertificates creates a throwaway CA and a leaf certificate for localhost.
func newCertificates() (caPEM []byte, leaf tls.Certificate, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, leaf, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "s1sim test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, leaf, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, leaf, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, leaf, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano() + 1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, leaf, err
	}
	leaf = tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey, Leaf: nil}
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return caPEM, leaf, nil
}
