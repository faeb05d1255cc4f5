package fields

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"runtime"
	"testing"
)

// Real images, made by the encoders (WebP by hand), so that DataURI decodes
// what a client would send.
var (
	pngBytes   = pngImage(4, 3)
	jpegBytes  = jpegImage(16, 8)
	gif89Bytes = gifImage(3, 5, 4) // animated: three frames
	gif87Bytes = gif87(gifImage(1, 2, 2))
	webpBytes  = webpImage(3, 2)
)

// pattern returns a w × h image with a little of everything in it.
func pattern(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Set(x, y, color.NRGBA{uint8(x * 40), uint8(y * 60), uint8(x ^ y), 255})
		}
	}
	return m
}

func pngImage(w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, pattern(w, h)); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func jpegImage(w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, pattern(w, h), nil); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func gifImage(frames, w, h int) []byte {
	g := &gif.GIF{}
	for i := range frames {
		m := image.NewPaletted(image.Rect(0, 0, w, h), palette.Plan9)
		for j := range m.Pix {
			m.Pix[j] = uint8(i + j)
		}
		g.Image, g.Delay = append(g.Image, m), append(g.Delay, 10)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// gif87 relabels a GIF without extensions as GIF87a.
func gif87(b []byte) []byte {
	b = bytes.Clone(b)
	copy(b, "GIF87a")
	return b
}

// withPNGChunk inserts a chunk before the PNG's IEND chunk.
func withPNGChunk(b []byte, typ string, data []byte) []byte {
	iend := len(b) - 12
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(append(c, typ...), data...)
	c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
	return append(append(bytes.Clone(b[:iend]), c...), b[iend:]...)
}

// pngSized returns a PNG with its IHDR claiming w × h pixels (its CRC fixed).
func pngSized(b []byte, w, h uint32) []byte {
	b = bytes.Clone(b)
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// jpegSized returns a JPEG with its SOF0 segment claiming w × h pixels.
func jpegSized(b []byte, w, h uint16) []byte {
	b = bytes.Clone(b)
	i := bytes.Index(b, []byte{0xff, 0xc0})
	binary.BigEndian.PutUint16(b[i+5:], h)
	binary.BigEndian.PutUint16(b[i+7:], w)
	return b
}

// gifSized returns a GIF whose logical screen and frames claim w × h pixels.
func gifSized(b []byte, w, h uint16) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint16(b[6:], w)
	binary.LittleEndian.PutUint16(b[8:], h)
	for i := 13; ; {
		switch b[i] {
		case 0x21:
			i += 2
			for b[i] != 0 {
				i += 1 + int(b[i])
			}
			i++
		case 0x2c:
			binary.LittleEndian.PutUint16(b[i+5:], w)
			binary.LittleEndian.PutUint16(b[i+7:], h)
			i += 10
			if b[i-1]&0x80 != 0 {
				i += 3 << (b[i-1]&7 + 1)
			}
			i++
			for b[i] != 0 {
				i += 1 + int(b[i])
			}
			i++
		default:
			return b
		}
	}
}

// bitWriter writes bits least significant first, as VP8L reads them.
type bitWriter struct {
	b    []byte
	nbit uint
}

func (w *bitWriter) write(v uint32, n uint) {
	for range n {
		if w.nbit%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v&1) << (w.nbit % 8)
		v >>= 1
		w.nbit++
	}
}

// webpImage returns a lossless WebP of w × h opaque black pixels, made by
// hand (neither the standard library nor golang.org/x/image encodes WebP):
// a VP8L bitstream whose five prefix codes have one symbol each, so that a
// pixel takes no bits at all.
func webpImage(w, h int) []byte {
	var bw bitWriter
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(0, 1)                                  // alpha is not used
	bw.write(0, 3)                                  // version 0
	bw.write(0, 1)                                  // no transform
	bw.write(0, 1)                                  // no color cache
	bw.write(0, 1)                                  // no meta prefix codes
	for _, sym := range []uint32{0, 0, 0, 255, 0} { // green, red, blue, alpha, distance
		bw.write(1, 1) // a simple code
		bw.write(0, 1) // of one symbol
		if sym < 2 {
			bw.write(0, 1) // of 1 bit
			bw.write(sym, 1)
		} else {
			bw.write(1, 1) // of 8 bits
			bw.write(sym, 8)
		}
	}
	return riff(chunk("VP8L", append([]byte{0x2f}, bw.b...)))
}

// chunk returns a RIFF chunk, padded to an even length.
func chunk(fourCC string, data []byte) []byte {
	c := binary.LittleEndian.AppendUint32([]byte(fourCC), uint32(len(data)))
	c = append(c, data...)
	if len(data)%2 == 1 {
		c = append(c, 0)
	}
	return c
}

// riff returns a RIFF WEBP file of the chunks.
func riff(chunks ...[]byte) []byte {
	body := bytes.Join(chunks, nil)
	out := binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(4+len(body)))
	return append(append(out, "WEBP"...), body...)
}

// images are the valid images of each type, by content type.
var images = []struct {
	contentType string
	data        []byte
}{
	{"image/png", pngBytes},
	{"image/jpeg", jpegBytes},
	{"image/gif", gif89Bytes},
	{"image/webp", webpBytes},
}

const html = "<html><script>alert(document.cookie)</script></html>"

func TestDataURIImages(t *testing.T) {
	type test struct {
		name, contentType string
		data              []byte
		code              string // "" = accepted
	}
	tests := []test{
		{"PNG 1×1", "image/png", pngImage(1, 1), ""},
		{"PNG with a text chunk", "image/png", withPNGChunk(pngBytes, "tEXt", []byte("Comment\x00hello")), ""},
		{"PNG at the side limit", "image/png", pngImage(MaxPictureSide, 1), ""},
		{"JPEG 1×1", "image/jpeg", jpegImage(1, 1), ""},
		{"JPEG with fill bytes before a marker", "image/jpeg", append(jpegBytes[:len(jpegBytes)-2:len(jpegBytes)-2], 0xff, 0xff, 0xd9), ""},
		{"GIF one frame", "image/gif", gifImage(1, 1, 1), ""},
		{"GIF87a", "image/gif", gif87Bytes, ""},
		{"GIF of the most frames", "image/gif", gifImage(MaxPictureFrames, 2, 2), ""},
		{"WebP 1×1", "image/webp", webpImage(1, 1), ""},
		{"WebP with a metadata chunk", "image/webp", riff(chunk("VP8L", webpImage(2, 2)[20:29]), chunk("EXIF", []byte("Exif\x00\x00"))), ""},

		// Pixel limits, checked on the header.
		{"PNG too wide", "image/png", pngSized(pngBytes, MaxPictureSide+1, 1), CodeTooLarge},
		{"PNG too many pixels", "image/png", pngSized(pngBytes, 2049, 2048), CodeTooLarge},
		{"JPEG too high", "image/jpeg", jpegSized(jpegBytes, 8, MaxPictureSide+1), CodeTooLarge},
		{"GIF screen too wide", "image/gif", gifSized(gif89Bytes, MaxPictureSide+1, 1), CodeTooLarge},
		{"GIF too many frames", "image/gif", gifImage(MaxPictureFrames+1, 1, 1), CodeTooLarge},
		{"GIF frames of too many pixels", "image/gif", gifSized(gifImage(5, 1, 1), 2048, 2048), CodeTooLarge},
		{"WebP too many pixels", "image/webp", webpImage(4096, 4096), CodeTooLarge},

		// Not a whole image.
		{"PNG signature and HTML", "image/png", []byte("\x89PNG\r\n\x1a\n" + html), CodeInvalidPicture},
		{"JPEG signature and HTML", "image/jpeg", []byte("\xff\xd8\xff\xe0" + html), CodeInvalidPicture},
		{"GIF signature and HTML", "image/gif", []byte("GIF89a" + html), CodeInvalidPicture},
		{"WebP signature and HTML", "image/webp", riff([]byte(html)), CodeInvalidPicture},
		{"PNG with bad pixel data", "image/png", pngSized(pngBytes, 400, 300), CodeInvalidPicture},
		{"PNG of no pixels", "image/png", pngSized(pngBytes, 0, 0), CodeInvalidPicture},
		{"JPEG with bytes between segments", "image/jpeg", append(append(bytes.Clone(jpegBytes[:2]), "junk"...), jpegBytes[2:]...), CodeInvalidPicture},
		{"GIF without a frame", "image/gif", append(bytes.Clone(gif89Bytes[:13+3*256]), 0x3b), CodeInvalidPicture},
		{"WebP with a wrong size", "image/webp", append(bytes.Clone(webpBytes[:4]), append([]byte{0xff, 0, 0, 0}, webpBytes[8:]...)...), CodeInvalidPicture},
		{"WebP without an image chunk", "image/webp", riff(chunk("EXIF", []byte("Exif"))), CodeInvalidPicture},
	}
	for _, img := range images {
		name := img.contentType[len("image/"):]
		tests = append(tests,
			test{name + " as encoded", img.contentType, img.data, ""},
			test{name + " followed by HTML", img.contentType, append(bytes.Clone(img.data), html...), CodeInvalidPicture},
			test{name + " followed by one byte", img.contentType, append(bytes.Clone(img.data), 0), CodeInvalidPicture},
			test{name + " without its last byte", img.contentType, img.data[:len(img.data)-1], CodeInvalidPicture},
			test{name + " cut in half", img.contentType, img.data[:len(img.data)/2], CodeInvalidPicture},
		)
		for _, other := range images {
			if other.contentType != img.contentType {
				tests = append(tests, test{name + " declared as " + other.contentType, other.contentType, img.data, CodeInvalidPicture})
			}
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotType, gotData, err := DataURI(dataURI(tt.contentType, tt.data))
			checkError(t, err, tt.code)
			if tt.code != "" {
				return
			}
			if gotType != tt.contentType || !bytes.Equal(gotData, tt.data) {
				t.Errorf("got %s of %d bytes; want %s of %d", gotType, len(gotData), tt.contentType, len(tt.data))
			}
		})
	}
}

// TestDataURIBombsAllocateNothing: an image that declares more pixels than
// allowed is refused on its header, before its decoder allocates for them
// (decoded, each of these would take hundreds of megabytes or more).
func TestDataURIBombsAllocateNothing(t *testing.T) {
	for _, tt := range []struct {
		name, contentType string
		data              []byte
	}{
		{"PNG", "image/png", pngSized(pngBytes, 30000, 30000)},
		{"JPEG", "image/jpeg", jpegSized(jpegBytes, 30000, 30000)},
		{"GIF", "image/gif", gifSized(gifImage(MaxPictureFrames, 1, 1), 4096, 4096)},
		{"WebP", "image/webp", webpImage(16384, 16384)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			uri := dataURI(tt.contentType, tt.data)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err := DataURI(uri)
			runtime.ReadMemStats(&after)
			checkError(t, err, CodeTooLarge)
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("refusing it allocated %d bytes, want under 1 MiB", n)
			}
		})
	}
}
