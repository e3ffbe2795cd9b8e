package inspect

import (
	"encoding/binary"

	"golang.org/x/crypto/cryptobyte"
)

const (
	tlsRecordHandshake = 22
	tlsClientHello     = 1
	tlsExtServerName   = 0
	// maxClientHello bounds what is reassembled: a ClientHello with large
	// post-quantum key shares is a few KiB; 16 KiB is one full record.
	maxClientHello = 16 << 10
)

// ClientHelloSNI returns the server name of the TLS ClientHello at the
// start of b. The handshake message may be spread over several TLS records
// (an evasion as much as a legitimate split); errNeedMore until it is
// whole. No server name, or more than one, refuses.
func ClientHelloSNI(b []byte) (string, error) {
	hs, err := handshakeBytes(b)
	if err != nil {
		return "", err
	}
	if hs[0] != tlsClientHello {
		return "", RefuseMalformed
	}
	n := int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3])
	if n > maxClientHello {
		return "", RefuseTooLong
	}
	if len(hs) < 4+n {
		return "", errNeedMore
	}
	return helloServerName(hs[4 : 4+n])
}

// handshakeBytes joins the payloads of the leading handshake records up
// to the end of the first handshake message; what follows that is not
// ours to read, so more bytes never change what was read. A record of
// another type (change_cipher_spec, alert, application data) before the
// message is whole refuses: a server would fail the handshake there, and
// waiting for the rest of the message would wait forever.
func handshakeBytes(b []byte) ([]byte, error) {
	var hs []byte
	for !firstMessageRead(hs) && len(b) > 0 {
		if b[0] != tlsRecordHandshake {
			if len(hs) == 0 {
				return nil, RefuseUnrecognised
			}
			return nil, RefuseMalformed
		}
		if len(b) < 5 {
			break
		}
		if b[1] != 3 {
			return nil, RefuseMalformed
		}
		n := int(binary.BigEndian.Uint16(b[3:5]))
		if n == 0 || n > 1<<14+2048 {
			return nil, RefuseMalformed
		}
		if len(b) < 5+n {
			hs = append(hs, b[5:]...)
			break
		}
		hs = append(hs, b[5:5+n]...)
		b = b[5+n:]
	}
	if len(hs) < 4 {
		return nil, errNeedMore
	}
	return hs, nil
}

// firstMessageRead says hs holds its first handshake message whole, or
// enough of it to know it is longer than a ClientHello may be.
func firstMessageRead(hs []byte) bool {
	if len(hs) < 4 {
		return false
	}
	n := int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3])
	return n > maxClientHello || len(hs) >= 4+n
}

func helloServerName(body []byte) (string, error) {
	s := cryptobyte.String(body)
	var version uint16
	var random, session, suites, compression, exts cryptobyte.String
	if !s.ReadUint16(&version) || !s.ReadBytes((*[]byte)(&random), 32) ||
		!s.ReadUint8LengthPrefixed(&session) || !s.ReadUint16LengthPrefixed(&suites) ||
		!s.ReadUint8LengthPrefixed(&compression) {
		return "", RefuseMalformed
	}
	if s.Empty() {
		return "", RefuseNoSNI // no extensions at all
	}
	if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return "", RefuseMalformed
	}
	name, found := "", false
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return "", RefuseMalformed
		}
		if typ != tlsExtServerName {
			continue
		}
		if found {
			return "", RefuseMalformed // two SNI extensions: which one would the server use?
		}
		n, err := serverNameExt(data)
		if err != nil {
			return "", err
		}
		name, found = n, true
	}
	if !found {
		return "", RefuseNoSNI
	}
	return name, nil
}

func serverNameExt(data cryptobyte.String) (string, error) {
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
		return "", RefuseMalformed
	}
	var name string
	for !list.Empty() {
		var typ uint8
		var host cryptobyte.String
		if !list.ReadUint8(&typ) || !list.ReadUint16LengthPrefixed(&host) {
			return "", RefuseMalformed
		}
		if typ != 0 {
			continue
		}
		if name != "" || len(host) == 0 {
			return "", RefuseMalformed
		}
		name = string(host)
	}
	if name == "" {
		return "", RefuseNoSNI
	}
	return name, nil
}
