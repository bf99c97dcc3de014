package email_test

import (
	"io"
	"mime/quotedprintable"
)

// quotedPrintable decodes a part read with NextRawPart, so that the tests
// see the Content-Transfer-Encoding header and still read the text.
func quotedPrintable(r io.Reader) io.Reader { return quotedprintable.NewReader(r) }
