package fields

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strconv"

	"golang.org/x/image/webp"
)

// Limits of a picture's pixels, against decompression bombs: a few hundred
// bytes may declare an image whose decoding allocates gigabytes. They are
// checked on the header, before anything is decoded.
const (
	// MaxPictureSide bounds the width and the height, in pixels.
	MaxPictureSide = 4096
	// MaxPicturePixels bounds width × height (2048 × 2048): 16 MiB as
	// RGBA; the most any decoder allocates, a progressive JPEG's
	// coefficients, is a few times that.
	MaxPicturePixels = 4 << 20
	// MaxPictureFrames bounds the frames of an animated GIF.
	MaxPictureFrames = 100
	// MaxPictureFramePixels bounds the pixels of all of a GIF's frames
	// together, which DecodeAll holds at once, one byte each.
	MaxPictureFramePixels = 16 << 20
)

var (
	errPictureImage = fail(CodeInvalidPicture,
		"must be a whole, valid image of the type it declares, with nothing after its end")
	errPictureDimensions = fail(CodeTooLarge,
		"must be at most "+strconv.Itoa(MaxPictureSide)+" pixels wide and high, and "+
			strconv.Itoa(MaxPicturePixels)+" pixels in all")
	errPictureFrames = fail(CodeTooLarge,
		"must have at most "+strconv.Itoa(MaxPictureFrames)+" frames of "+
			strconv.Itoa(MaxPictureFramePixels)+" pixels in all")
)

// pictureTypes are the image types a data: URI may carry: their signature,
// checked first because it costs nothing, and the check of the whole image.
var pictureTypes = []struct {
	contentType string
	signature   func([]byte) bool
	check       func([]byte) *Error
}{
	{"image/png", func(b []byte) bool { return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) }, checkPNG},
	{"image/jpeg", func(b []byte) bool { return bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}) }, checkJPEG},
	{"image/gif", func(b []byte) bool {
		return bytes.HasPrefix(b, []byte("GIF87a")) || bytes.HasPrefix(b, []byte("GIF89a"))
	}, checkGIF},
	{"image/webp", func(b []byte) bool {
		return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP"
	}, checkWebP},
}

// A picture is decoded whole, and must end where its format says it ends:
// bytes after the end (a PNG followed by HTML) would make the file another
// format too, for whatever sniffs it. Each decoder reads from a
// bytes.Reader, so what it left unread is what follows the image, for the
// decoders that read exactly what their format holds (png.Decode stops
// after the IEND chunk's CRC, gif.DecodeAll after the trailer, reading a
// bytes.Reader, an io.ByteReader, without buffering). image/jpeg buffers
// ahead and webp stops at the image's chunk, so their end is found by
// walking the file's structure instead.

// checkPNG decodes b as a PNG.
func checkPNG(b []byte) *Error {
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return new(errPictureImage)
	}
	if e := checkDimensions(cfg); e != nil {
		return e
	}
	r := bytes.NewReader(b)
	if _, err := png.Decode(r); err != nil || r.Len() != 0 {
		return new(errPictureImage)
	}
	return nil
}

// checkJPEG decodes b as a JPEG, which must end with its EOI marker.
func checkJPEG(b []byte) *Error {
	if end, ok := jpegEnd(b); !ok || end != len(b) {
		return new(errPictureImage)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return new(errPictureImage)
	}
	if e := checkDimensions(cfg); e != nil {
		return e
	}
	if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
		return new(errPictureImage)
	}
	return nil
}

// checkGIF decodes every frame of b as a GIF, after counting them.
func checkGIF(b []byte) *Error {
	frames, pixels, end, ok := gifLayout(b)
	if !ok || end != len(b) {
		return new(errPictureImage)
	}
	cfg, err := gif.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return new(errPictureImage)
	}
	if e := checkDimensions(cfg); e != nil {
		return e
	}
	if frames > MaxPictureFrames || pixels > MaxPictureFramePixels {
		return new(errPictureFrames)
	}
	r := bytes.NewReader(b)
	if _, err := gif.DecodeAll(r); err != nil || r.Len() != 0 {
		return new(errPictureImage)
	}
	return nil
}

// checkWebP decodes b as a WebP, whose RIFF chunks must fill it exactly.
// golang.org/x/image/webp decodes still images only (not animations).
func checkWebP(b []byte) *Error {
	if !riffFills(b) {
		return new(errPictureImage)
	}
	cfg, err := webp.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return new(errPictureImage)
	}
	if e := checkDimensions(cfg); e != nil {
		return e
	}
	if _, err := webp.Decode(bytes.NewReader(b)); err != nil {
		return new(errPictureImage)
	}
	return nil
}

// checkDimensions checks an image's header against the pixel limits.
func checkDimensions(cfg image.Config) *Error {
	w, h := int64(cfg.Width), int64(cfg.Height)
	switch {
	case w < 1 || h < 1:
		return new(errPictureImage)
	case w > MaxPictureSide || h > MaxPictureSide || w*h > MaxPicturePixels:
		return new(errPictureDimensions)
	}
	return nil
}

// jpegEnd returns the offset just past the EOI marker that ends the JPEG in
// b, walking its marker segments and entropy-coded data as ITU T.81 B.1
// lays them out, or false if b is not laid out so. Between segments only
// fill bytes (0xFF) may come; image/jpeg, like libjpeg, skips any stray
// byte there, which a polyglot could use.
func jpegEnd(b []byte) (int, bool) {
	if len(b) < 2 || b[0] != 0xff || b[1] != 0xd8 {
		return 0, false
	}
	i := 2
	for {
		if i >= len(b) || b[i] != 0xff {
			return 0, false
		}
		for i < len(b) && b[i] == 0xff {
			i++
		}
		if i >= len(b) {
			return 0, false
		}
		marker := b[i]
		i++
		switch {
		case marker == 0xd9: // EOI
			return i, true
		case marker == 0x00 || marker == 0xd8: // a stuffed byte, or a second SOI
			return 0, false
		case marker == 0x01 || 0xd0 <= marker && marker <= 0xd7: // TEM, RSTn: no length
			continue
		}
		if len(b)-i < 2 {
			return 0, false
		}
		n := int(b[i])<<8 | int(b[i+1])
		if n < 2 || n > len(b)-i {
			return 0, false
		}
		i += n
		if marker == 0xda { // SOS: entropy-coded data, up to the next marker
			i = scanEnd(b, i)
		}
	}
}

// scanEnd returns the offset of the marker that ends the entropy-coded data
// starting at b[i]: the first 0xFF not followed by 0x00 (a stuffed 0xFF) or
// by a restart marker, which belong to the data. It returns len(b) if there
// is none.
func scanEnd(b []byte, i int) int {
	for i < len(b)-1 {
		if b[i] != 0xff {
			i++
			continue
		}
		if next := b[i+1]; next != 0x00 && (next < 0xd0 || next > 0xd7) {
			return i
		}
		i += 2
	}
	return len(b)
}

// gifLayout walks the blocks of the GIF in b (GIF89a, appendix B) without
// decoding them, and returns its number of frames, their pixels in all (as
// their image descriptors declare them), and the offset just past the
// trailer; false if b is not laid out so.
func gifLayout(b []byte) (frames int, pixels int64, end int, ok bool) {
	const header = 13 // signature, version, logical screen descriptor
	if len(b) < header {
		return 0, 0, 0, false
	}
	i := header
	if b[10]&0x80 != 0 { // a global color table
		i += 3 << (b[10]&7 + 1)
	}
	// subBlocks skips data sub-blocks up to their terminator.
	subBlocks := func() bool {
		for i < len(b) {
			n := int(b[i])
			i += 1 + n
			if n == 0 {
				return true
			}
		}
		return false
	}
	for i < len(b) {
		switch b[i] {
		case 0x21: // an extension: its label, then its sub-blocks
			i += 2
			if !subBlocks() {
				return 0, 0, 0, false
			}
		case 0x2c: // an image descriptor
			if len(b)-i < 10 {
				return 0, 0, 0, false
			}
			w := int64(binary.LittleEndian.Uint16(b[i+5:]))
			h := int64(binary.LittleEndian.Uint16(b[i+7:]))
			packed := b[i+9]
			i += 10
			if packed&0x80 != 0 { // a local color table
				i += 3 << (packed&7 + 1)
			}
			i++ // the LZW minimum code size
			if !subBlocks() {
				return 0, 0, 0, false
			}
			frames++
			pixels += w * h
		case 0x3b: // the trailer
			return frames, pixels, i + 1, true
		default:
			return 0, 0, 0, false
		}
	}
	return 0, 0, 0, false
}

// riffFills reports whether b is a RIFF WEBP file whose declared size is
// its length and whose chunks (each padded to an even length) fill it
// exactly.
func riffFills(b []byte) bool {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return false
	}
	if int64(binary.LittleEndian.Uint32(b[4:8]))+8 != int64(len(b)) {
		return false
	}
	for i := int64(12); i != int64(len(b)); {
		if int64(len(b))-i < 8 {
			return false
		}
		n := int64(binary.LittleEndian.Uint32(b[i+4:]))
		i += 8 + n + n&1
		if i > int64(len(b)) {
			return false
		}
	}
	return true
}
