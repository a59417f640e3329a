package synth

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"sort"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/frame"
	"github.com/suyashkumar/dicom/pkg/tag"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Transfer syntaxes DICOM can write.
const (
	ExplicitVRLittleEndian = "1.2.840.10008.1.2.1"
	ImplicitVRLittleEndian = "1.2.840.10008.1.2"
	JPEGBaseline           = "1.2.840.10008.1.2.4.50"
)

// DICOMElement is an extra attribute planted in a synthetic DICOM file. Tag
// is group<<16|element. String VRs take Value; OB, OW and UN take the bytes
// of Value; SQ takes Items (each item a list of elements).
type DICOMElement struct {
	Tag   uint32
	VR    string
	Value string
	Items [][]DICOMElement
}

// DICOMSpec describes a synthetic DICOM file. Every value is made up by the
// caller; zero values get neutral defaults.
type DICOMSpec struct {
	PatientName, PatientID, BirthDate, Sex string
	InstitutionName, ReferringPhysician    string
	StudyUID, SeriesUID, SOPUID            string
	// SOPClassUID defaults to CT Image Storage (Secondary Capture for
	// SC/OT, Ultrasound Image Storage for US).
	SOPClassUID              string
	Modality                 string
	Manufacturer, Model      string
	Rows, Cols, Frames       int
	BitsAllocated            int // 8, 12 (packed: two samples in three bytes) or 16; 0: 16 for CT/MR/CR/DX, else 8
	TransferSyntax           string
	BurnedInAnnotation       bool
	PlantText                bool // draws Marker (or PatientName) as pixels in the top-left corner
	StudyDate, SeriesDate    string
	AccessionNumber          string
	SpecificCharacterSet     string // default "ISO_IR 192"
	SkipPixelData            bool   // writes no PixelData (a corrupt file)
	TruncatePixelData        bool   // declares more rows than the pixel data holds
	OmitBurnedInAnnotationAt bool   // writes no BurnedInAnnotation at all
	// Frames8, when set, gives the 8-bit samples (Rows*Cols each) of every
	// frame instead of the generated body (BitsAllocated is then 8).
	Frames8 [][]byte

	// Marker, when set, is planted as an identifier in the file meta
	// (Source Application Entity Title, Private Information), in a
	// sequence nested three deep, in a private block, in overlay data and
	// comments, in a curve group and in the icon image sequence.
	Marker string
	// Extra attributes written at the top level (they replace defaults of
	// the same tag).
	Extra []DICOMElement
}

// DICOM writes a synthetic DICOM Part 10 file described by s to w. The
// output is deterministic for one spec.
func DICOM(w io.Writer, s DICOMSpec) error {
	fillDefaults(&s)
	var els []*dicom.Element
	add := func(e ...*dicom.Element) { els = append(els, e...) }
	str := func(g, e uint16, vr string, v ...string) { add(strElem(g, e, vr, v...)) }
	ints := func(g, e uint16, vr string, v ...int) { add(mkElem(g, e, vr, must(dicom.NewValue(v)))) }

	add(fileMeta(s.SOPClassUID, s.SOPUID, s.TransferSyntax, s.Marker)...)

	str(0x0008, 0x0005, "CS", s.SpecificCharacterSet)
	str(0x0008, 0x0016, "UI", s.SOPClassUID)
	str(0x0008, 0x0018, "UI", s.SOPUID)
	str(0x0008, 0x0020, "DA", s.StudyDate)
	str(0x0008, 0x0021, "DA", s.SeriesDate)
	str(0x0008, 0x0023, "DA", s.SeriesDate)
	str(0x0008, 0x0030, "TM", "101500")
	str(0x0008, 0x0050, "SH", s.AccessionNumber)
	str(0x0008, 0x0060, "CS", s.Modality)
	str(0x0008, 0x0070, "LO", s.Manufacturer)
	str(0x0008, 0x0080, "LO", s.InstitutionName)
	str(0x0008, 0x0090, "PN", s.ReferringPhysician)
	str(0x0008, 0x1090, "LO", s.Model)
	add(patientStudy(s.PatientName, s.PatientID, s.BirthDate, s.Sex, s.StudyUID, s.SeriesUID)...)
	str(0x0020, 0x0020, "CS", "L", "P")
	if s.Frames > 1 {
		str(0x0028, 0x0008, "IS", fmt.Sprint(s.Frames))
	}
	ints(0x0028, 0x0002, "US", 1)
	str(0x0028, 0x0004, "CS", "MONOCHROME2")
	ints(0x0028, 0x0010, "US", s.Rows)
	ints(0x0028, 0x0011, "US", s.Cols)
	ints(0x0028, 0x0100, "US", s.BitsAllocated)
	ints(0x0028, 0x0101, "US", s.BitsAllocated)
	ints(0x0028, 0x0102, "US", s.BitsAllocated-1)
	ints(0x0028, 0x0103, "US", 0)
	if !s.OmitBurnedInAnnotationAt {
		if s.BurnedInAnnotation {
			str(0x0028, 0x0301, "CS", "YES")
		} else {
			str(0x0028, 0x0301, "CS", "NO")
		}
	}
	if s.Marker != "" {
		plantMarker(&els, s)
	}
	for _, x := range s.Extra {
		e, err := extraElem(x)
		if err != nil {
			return err
		}
		els = replaceOrAppend(els, e)
	}
	if !s.SkipPixelData {
		px, err := pixelData(s)
		if err != nil {
			return err
		}
		add(px)
	}
	sortElems(els)
	return dicom.Write(w, dicom.Dataset{Elements: els}, dicom.SkipVRVerification())
}

// def sets *p to v when it is empty.
func def(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func fillDefaults(s *DICOMSpec) {
	def(&s.Modality, "CT")
	switch s.Modality {
	case "SC", "OT":
		def(&s.SOPClassUID, "1.2.840.10008.5.1.4.1.1.7")
	case "US":
		def(&s.SOPClassUID, "1.2.840.10008.5.1.4.1.1.6.1")
	case "MR":
		def(&s.SOPClassUID, "1.2.840.10008.5.1.4.1.1.4")
	default:
		def(&s.SOPClassUID, "1.2.840.10008.5.1.4.1.1.2")
	}
	def(&s.TransferSyntax, ExplicitVRLittleEndian)
	def(&s.SpecificCharacterSet, "ISO_IR 192")
	def(&s.StudyUID, "1.2.826.0.1.3680043.10.1561.1.1")
	def(&s.SeriesUID, "1.2.826.0.1.3680043.10.1561.1.2")
	def(&s.SOPUID, "1.2.826.0.1.3680043.10.1561.1.3")
	def(&s.PatientName, "SYNTH^PATIENT")
	def(&s.PatientID, "SYNTH0001")
	def(&s.StudyDate, "20240102")
	def(&s.SeriesDate, "20240102")
	def(&s.Manufacturer, "SynthCo")
	def(&s.Model, "Synth 1")
	if s.Rows <= 0 {
		s.Rows = 64
	}
	if s.Cols <= 0 {
		s.Cols = 64
	}
	if s.Frames <= 0 {
		s.Frames = 1
	}
	if s.BitsAllocated != 8 && s.BitsAllocated != 12 && s.BitsAllocated != 16 {
		switch s.Modality {
		case "CT", "MR", "CR", "DX", "MG":
			s.BitsAllocated = 16
		default:
			s.BitsAllocated = 8
		}
	}
	if s.TransferSyntax == JPEGBaseline || len(s.Frames8) > 0 {
		s.BitsAllocated = 8
	}
	if len(s.Frames8) > 0 {
		s.Frames = len(s.Frames8)
	}
}

// plantMarker writes s.Marker in a sequence three deep, a private block,
// an overlay, a curve group and an icon image sequence.
func plantMarker(els *[]*dicom.Element, s DICOMSpec) {
	m := s.Marker
	// (0008,1110) Referenced Study Sequence > (0008,1115) Referenced Series
	// Sequence > (0040,A730) Content Sequence > PersonName and text.
	deepest := []*dicom.Element{
		strElem(0x0008, 0x1150, "UI", "1.2.840.10008.5.1.4.1.1.2"),
		strElem(0x0008, 0x1155, "UI", s.StudyUID+".99"),
		strElem(0x0010, 0x0010, "PN", m),
		strElem(0x0040, 0xA123, "PN", m),
		strElem(0x0040, 0xA160, "UT", "report of "+m),
	}
	level2 := []*dicom.Element{
		strElem(0x0020, 0x000E, "UI", s.SeriesUID),
		strElem(0x0008, 0x0080, "LO", m),
		seqElem(0x0040, 0xA730, deepest),
	}
	level1 := []*dicom.Element{
		strElem(0x0008, 0x1150, "UI", "1.2.840.10008.3.1.2.3.1"),
		strElem(0x0008, 0x1155, "UI", s.StudyUID),
		strElem(0x0010, 0x0020, "LO", m),
		seqElem(0x0008, 0x1115, level2),
	}
	*els = append(*els, seqElem(0x0008, 0x1110, level1))
	// Private block "SYNTH PRIVATE" at (0029,10xx).
	*els = append(*els,
		strElem(0x0029, 0x0010, "LO", "SYNTH PRIVATE"),
		strElem(0x0029, 0x1001, "LO", m),
		mkElem(0x0029, 0x1002, "OB", must(dicom.NewValue(evenBytes("OB:"+m)))),
		strElem(0x0029, 0x1003, "LO", "SAFE VALUE"),
	)
	// Overlay plane 6000 and 6002.
	for _, g := range []uint16{0x6000, 0x6002} {
		*els = append(*els,
			mkElem(g, 0x0010, "US", must(dicom.NewValue([]int{8}))),
			mkElem(g, 0x0011, "US", must(dicom.NewValue([]int{8}))),
			strElem(g, 0x0040, "CS", "G"),
			mkElem(g, 0x0050, "SS", must(dicom.NewValue([]int{1, 1}))),
			mkElem(g, 0x0100, "US", must(dicom.NewValue([]int{1}))),
			mkElem(g, 0x0102, "US", must(dicom.NewValue([]int{0}))),
			mkElem(g, 0x3000, "OB", must(dicom.NewValue(evenBytes(m)))),
			strElem(g, 0x4000, "LT", "overlay of "+m),
		)
	}
	// Curve group 5000 (retired).
	*els = append(*els, strElem(0x5000, 0x2500, "LO", m))
	// Icon image sequence holding a PatientName too.
	*els = append(*els, seqElem(0x0088, 0x0200, []*dicom.Element{strElem(0x0010, 0x0010, "PN", m)}))
}

func pixelData(s DICOMSpec) (*dicom.Element, error) {
	bpp := s.BitsAllocated / 8
	if s.BitsAllocated == 12 {
		bpp = 2 // generated as 16-bit samples, then packed
	}
	frameLen := s.Rows * s.Cols * bpp
	var text []bool
	if s.PlantText {
		label := s.Marker
		if label == "" {
			label = s.PatientName
		}
		text = textMask(label, s.Rows, s.Cols)
	}
	frameBytes := func(f int) []byte {
		if f < len(s.Frames8) && bpp == 1 {
			return append([]byte(nil), s.Frames8[f]...)
		}
		b := make([]byte, frameLen)
		for y := 0; y < s.Rows; y++ {
			for x := 0; x < s.Cols; x++ {
				i := y*s.Cols + x
				v := 40 + (x*3+y*5+f*7)%60 // low-contrast deterministic body
				if text != nil && text[i] {
					v = 255
				}
				if bpp == 1 {
					b[i] = byte(v)
				} else {
					v16 := v * 16
					b[2*i] = byte(v16)
					b[2*i+1] = byte(v16 >> 8)
				}
			}
		}
		return b
	}
	if s.TransferSyntax == JPEGBaseline {
		info := dicom.PixelDataInfo{IsEncapsulated: true}
		for f := 0; f < s.Frames; f++ {
			img := image.NewGray(image.Rect(0, 0, s.Cols, s.Rows))
			copy(img.Pix, frameBytes(f))
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
				return nil, fmt.Errorf("encode jpeg frame: %w", err)
			}
			info.Frames = append(info.Frames, &frame.Frame{Encapsulated: true, EncapsulatedData: frame.EncapsulatedFrame{Data: evenBytes(buf.String())}})
		}
		e := mkElem(0x7FE0, 0x0010, "OB", must(dicom.NewValue(info)))
		e.ValueLength = tag.VLUndefinedLength
		return e, nil
	}
	raw := make([]byte, 0, frameLen*s.Frames)
	for f := 0; f < s.Frames; f++ {
		raw = append(raw, frameBytes(f)...)
	}
	if s.BitsAllocated == 12 {
		raw = pack12(raw)
	}
	if s.TruncatePixelData {
		raw = raw[:len(raw)/2]
	}
	if len(raw)%2 == 1 {
		raw = append(raw, 0)
	}
	vr := "OW"
	if bpp == 1 {
		vr = "OB"
	}
	return mkElem(0x7FE0, 0x0010, vr, must(dicom.NewValue(dicom.PixelDataInfo{IntentionallyUnprocessed: true, UnprocessedValueData: raw}))), nil
}

// textMask renders label with a 7x13 bitmap font, scaled so that the text
// spans about 60% of the image width, in the top-left corner.
func textMask(label string, rows, cols int) []bool {
	face := basicfont.Face7x13
	w := font.MeasureString(face, label).Ceil()
	h := 13
	img := image.NewGray(image.Rect(0, 0, w+4, h+4))
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.Gray{Y: 255}), Face: face, Dot: fixed.P(2, 13)}
	d.DrawString(label)
	scale := max(1, cols*6/10/max(1, w+4))
	if (h+4)*scale > rows/3 {
		scale = max(1, rows/3/(h+4))
	}
	m := make([]bool, rows*cols)
	for y := 0; y < (h+4)*scale && y+2 < rows; y++ {
		for x := 0; x < (w+4)*scale && x+2 < cols; x++ {
			if img.GrayAt(x/scale, y/scale).Y > 127 {
				m[(y+2)*cols+x+2] = true
			}
		}
	}
	return m
}

// TextBox returns the region of the image that PlantText draws on, for
// tests that give the masker operator boxes: [0,cols) x [0,rows/3+4).
func TextBox(rows, cols int) (x0, y0, x1, y1 int) { return 0, 0, cols, min(rows, rows/3+4) }

func extraElem(x DICOMElement) (*dicom.Element, error) {
	g, e := uint16(x.Tag>>16), uint16(x.Tag)
	switch x.VR {
	case "SQ":
		var items [][]*dicom.Element
		for _, it := range x.Items {
			var sub []*dicom.Element
			for _, c := range it {
				ce, err := extraElem(c)
				if err != nil {
					return nil, err
				}
				sub = append(sub, ce)
			}
			sortElems(sub)
			items = append(items, sub)
		}
		return mkElem(g, e, "SQ", must(dicom.NewValue(items))), nil
	case "OB", "OW", "UN":
		return mkElem(g, e, x.VR, must(dicom.NewValue(evenBytes(x.Value)))), nil
	case "US", "SS", "UL", "SL":
		return mkElem(g, e, x.VR, must(dicom.NewValue([]int{len(x.Value)}))), nil
	case "FL", "FD":
		return mkElem(g, e, x.VR, must(dicom.NewValue([]float64{float64(len(x.Value))}))), nil
	case "AT":
		return mkElem(g, e, x.VR, must(dicom.NewValue([]int{0x00100010}))), nil
	case "":
		return nil, errors.New("synth: extra element without vr")
	default:
		return strElem(g, e, x.VR, x.Value), nil
	}
}

// fileMeta returns the file meta elements of a synthetic file: SOP class
// and instance, transfer syntax, hdw's implementation UID and name; marker,
// when set, is planted in the Source Application Entity Title and the
// Private Information.
func fileMeta(sopClass, sop, transferSyntax, marker string) []*dicom.Element {
	els := []*dicom.Element{
		mkElem(0x0002, 0x0001, "OB", must(dicom.NewValue([]byte{0, 1}))),
		strElem(0x0002, 0x0002, "UI", sopClass),
		strElem(0x0002, 0x0003, "UI", sop),
		strElem(0x0002, 0x0010, "UI", transferSyntax),
		strElem(0x0002, 0x0012, "UI", "1.2.826.0.1.3680043.10.1561.1"),
		strElem(0x0002, 0x0013, "SH", "HDWSYNTH"),
	}
	if marker != "" {
		els = append(els, strElem(0x0002, 0x0016, "AE", trunc(marker, 16)),
			strElem(0x0002, 0x0100, "UI", "1.2.826.0.1.3680043.10.1561.9"),
			mkElem(0x0002, 0x0102, "OB", must(dicom.NewValue(evenBytes(marker)))))
	}
	return els
}

// patientStudy returns the Patient and the General Study and Series
// elements every synthetic file carries (study, series and instance
// numbers 1).
func patientStudy(name, id, birthDate, sex, studyUID, seriesUID string) []*dicom.Element {
	return []*dicom.Element{
		strElem(0x0010, 0x0010, "PN", name),
		strElem(0x0010, 0x0020, "LO", id),
		strElem(0x0010, 0x0030, "DA", birthDate),
		strElem(0x0010, 0x0040, "CS", sex),
		strElem(0x0020, 0x000D, "UI", studyUID),
		strElem(0x0020, 0x000E, "UI", seriesUID),
		strElem(0x0020, 0x0010, "SH", "1"),
		strElem(0x0020, 0x0011, "IS", "1"),
		strElem(0x0020, 0x0013, "IS", "1"),
	}
}

func strElem(g, e uint16, vr string, v ...string) *dicom.Element {
	return mkElem(g, e, vr, must(dicom.NewValue(v)))
}

func seqElem(g, e uint16, item []*dicom.Element) *dicom.Element {
	sortElems(item)
	return mkElem(g, e, "SQ", must(dicom.NewValue([][]*dicom.Element{item})))
}

func mkElem(g, e uint16, vr string, v dicom.Value) *dicom.Element {
	t := tag.Tag{Group: g, Element: e}
	return &dicom.Element{Tag: t, ValueRepresentation: tag.GetVRKind(t, vr), RawValueRepresentation: vr, Value: v}
}

func must(v dicom.Value, err error) dicom.Value {
	if err != nil {
		panic(err) // only reached with a wrong Go type, a programming error
	}
	return v
}

func evenBytes(s string) []byte {
	b := []byte(s)
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func replaceOrAppend(els []*dicom.Element, e *dicom.Element) []*dicom.Element {
	for i, x := range els {
		if x.Tag == e.Tag {
			els[i] = e
			return els
		}
	}
	return append(els, e)
}

func sortElems(els []*dicom.Element) {
	sort.SliceStable(els, func(i, j int) bool {
		a, b := els[i].Tag, els[j].Tag
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		return a.Element < b.Element
	})
}

// pack12 packs 16-bit little endian samples into 12-bit ones, two in three
// bytes in the little endian bit stream (Bits Allocated 12).
func pack12(b []byte) []byte {
	n := len(b) / 2
	out := make([]byte, (n*12+7)/8)
	for i := 0; i < n; i++ {
		v := uint16(b[2*i]) | uint16(b[2*i+1])<<8
		j := i / 2 * 3
		if i%2 == 0 {
			out[j] = byte(v)
			out[j+1] |= byte(v>>8) & 0x0F
		} else {
			out[j+1] |= byte(v << 4)
			out[j+2] = byte(v >> 4)
		}
	}
	return out
}
