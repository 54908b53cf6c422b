package dockerhost

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// certAuthority makes certificates for the test, signed by its own key.
type certAuthority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCertAuthority(t *testing.T, name string) *certAuthority {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &certAuthority{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue makes a certificate for name (a server's at 127.0.0.1 when
// server), in PEM, with its key.
func (ca *certAuthority) issue(t *testing.T, name string, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: k})
}

// A tcp:// DOCKER_HOST with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH is an
// engine over TLS both ways, as the Docker CLI reaches one: the client
// shows its certificate from DOCKER_CERT_PATH and, with DOCKER_TLS_VERIFY,
// checks the engine's against its ca.pem. The engine is a fake that answers a ping, over TLS
// that wants the client's certificate.
func TestATCPHostWithTLSVerifiesBothWays(t *testing.T) {
	ca := newCertAuthority(t, "berth test CA")
	serverCert, serverKey := ca.issue(t, "engine", true)
	pair, err := tls.X509KeyPair(serverCert, serverKey)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var clients []string
	engine := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		for _, c := range r.TLS.PeerCertificates {
			clients = append(clients, c.Subject.CommonName)
		}
		mu.Unlock()
		w.Header().Set("Api-Version", "1.41")
		w.Write([]byte("OK"))
	}))
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	engine.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	engine.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	engine.StartTLS()
	defer engine.Close()

	dir := t.TempDir()
	clientCert, clientKey := ca.issue(t, "berth-client", false)
	for name, b := range map[string][]byte{"ca.pem": ca.pem, "cert.pem": clientCert, "key.pem": clientKey} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A ca.pem of another authority: the engine's certificate is not
	// trusted.
	strangers := t.TempDir()
	other := newCertAuthority(t, "another CA")
	for name, b := range map[string][]byte{"ca.pem": other.pem, "cert.pem": clientCert, "key.pem": clientKey} {
		if err := os.WriteFile(filepath.Join(strangers, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	host := "tcp://" + strings.TrimPrefix(engine.URL, "https://")
	tests := []struct {
		name, certPath, verify string
		err                    string
	}{
		{"the client's certificate, the engine's verified", dir, "1", ""},
		{"the engine's certificate from another authority", strangers, "1", "certificate signed by unknown authority"},
		{"DOCKER_TLS_VERIFY unset: the client's certificate, the engine's not checked", strangers, "", ""},
		{"no certificates: plain HTTP to a TLS engine", "", "", "HTTP request to an HTTPS server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("DOCKER_HOST", host)
			t.Setenv("DOCKER_CERT_PATH", tt.certPath)
			t.Setenv("DOCKER_TLS_VERIFY", tt.verify)
			api, err := New()
			if err != nil {
				t.Fatal(err)
			}
			defer api.Close()
			if api.DaemonHost() != host {
				t.Errorf("DaemonHost %q, want %q", api.DaemonHost(), host)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			mu.Lock()
			clients = nil
			mu.Unlock()
			_, err = api.Ping(ctx)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("ping: %v, want an error saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ping: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(clients) == 0 || clients[0] != "berth-client" {
				t.Errorf("the engine saw the client certificates %v", clients)
			}
		})
	}
}
