package cloudtrail

// AppendValues appends every scalar value of the JSON record raw to dst, each after a space when
// dst is not empty: strings unescaped, numbers as written, true and false; not keys, not nulls.
// It is the text the full-text index holds for a record, made in one walk over the bytes
// (a fastjson tree built and visited cost about three times as much; the tests compare the two).
func AppendValues(dst, raw []byte) ([]byte, error) {
	i, dst, err := appendValuesAt(dst, raw, skipWS(raw, 0), 0)
	if err != nil {
		return dst, err
	}
	if i = skipWS(raw, i); i != len(raw) {
		return dst, &jsonError{i, "unexpected data after the value"}
	}
	return dst, nil
}

func appendValuesAt(dst, b []byte, i, depth int) (int, []byte, error) {
	if depth >= maxNesting { // depth: the containers around this value, as fastjson counts
		return i, dst, errNesting(i)
	}
	if i >= len(b) {
		return i, dst, &jsonError{i, "unexpected end, expected a value"}
	}
	sep := func() {
		if len(dst) > 0 {
			dst = append(dst, ' ')
		}
	}
	switch c := b[i]; {
	case c == '{':
		if i = skipWS(b, i+1); i < len(b) && b[i] == '}' {
			return i + 1, dst, nil
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return i, dst, &jsonError{i, "expected a string key"}
			}
			end, _, err := scanString(b, i+1)
			if err != nil {
				return end, dst, err
			}
			if i = skipWS(b, end+1); i >= len(b) || b[i] != ':' {
				return i, dst, &jsonError{i, "expected ':' after object key"}
			}
			if i, dst, err = appendValuesAt(dst, b, skipWS(b, i+1), depth+1); err != nil {
				return i, dst, err
			}
			if i = skipWS(b, i); i >= len(b) {
				return i, dst, &jsonError{i, "unexpected end, expected ',' or '}'"}
			}
			switch b[i] {
			case ',':
				i = skipWS(b, i+1)
			case '}':
				return i + 1, dst, nil
			default:
				return i, dst, &jsonError{i, "expected ',' or '}'"}
			}
		}
	case c == '[':
		if i = skipWS(b, i+1); i < len(b) && b[i] == ']' {
			return i + 1, dst, nil
		}
		for {
			var err error
			if i, dst, err = appendValuesAt(dst, b, i, depth+1); err != nil {
				return i, dst, err
			}
			if i = skipWS(b, i); i >= len(b) {
				return i, dst, &jsonError{i, "unexpected end, expected ',' or ']'"}
			}
			switch b[i] {
			case ',':
				i = skipWS(b, i+1)
			case ']':
				return i + 1, dst, nil
			default:
				return i, dst, &jsonError{i, "expected ',' or ']'"}
			}
		}
	case c == '"':
		end, escaped, err := scanString(b, i+1)
		if err != nil {
			return end, dst, err
		}
		sep()
		if escaped {
			dst = appendUnescaped(dst, b[i+1:end])
		} else {
			dst = append(dst, b[i+1:end]...)
		}
		return end + 1, dst, nil
	case c == 't' || c == 'f':
		lit := "true"
		if c == 'f' {
			lit = "false"
		}
		end, _, err := literal(b, i, lit)
		if err != nil {
			return end, dst, err
		}
		sep()
		return end, append(dst, lit...), nil
	case c == 'n':
		end, _, err := literal(b, i, "null")
		return end, dst, err
	default:
		end, err := scanNumber(b, i)
		if err != nil {
			return end, dst, err
		}
		sep()
		return end, append(dst, b[i:end]...), nil
	}
}
