package history

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// A run's object is named run-<start>-<id>.json.gz: the start in UTC with a
// fixed width, so that the names sort by time, and the run ID escaped so
// that any ID makes a portable file and object name and reads back
// exactly: letters, digits, '.' and '-' stay, every other byte becomes
// '_' and two hex digits.
const (
	namePrefix = "run-"
	nameSuffix = ".json.gz"
	nameTime   = "20060102T150405.000000000Z"
)

func objectName(id string, start time.Time) string {
	return namePrefix + start.UTC().Format(nameTime) + "-" + escapeID(id) + nameSuffix
}

func parseName(name string) (string, time.Time, error) {
	rest := strings.TrimSuffix(strings.TrimPrefix(name, namePrefix), nameSuffix)
	if len(rest) < len(nameTime)+2 || rest[len(nameTime)] != '-' {
		return "", time.Time{}, fmt.Errorf("the name is not run-<time>-<id>%s", nameSuffix)
	}
	t, err := time.Parse(nameTime, rest[:len(nameTime)])
	if err != nil {
		return "", time.Time{}, fmt.Errorf("reading the time in the name: %w", err)
	}
	id, err := unescapeID(rest[len(nameTime)+1:])
	if err != nil {
		return "", time.Time{}, fmt.Errorf("reading the run ID in the name: %w", err)
	}
	return id, t, nil
}

func plain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-'
}

func escapeID(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		if c := id[i]; plain(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	return b.String()
}

func unescapeID(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case plain(c):
			b.WriteByte(c)
		case c == '_' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			return "", errors.New("bad escape")
		}
	}
	return b.String(), nil
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}
