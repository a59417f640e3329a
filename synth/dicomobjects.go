package synth

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/suyashkumar/dicom"
)

// Object classes DICOMObject generates: the non-image (and non-CT) objects
// a PACS export holds besides images.
const (
	ClassBasicTextSR     = "sr-basic"
	ClassEnhancedSR      = "sr-enhanced"
	ClassComprehensiveSR = "sr-comprehensive"
	ClassDoseSR          = "sr-dose"
	ClassKOS             = "kos"
	ClassRTStruct        = "rt-struct"
	ClassRTPlan          = "rt-plan"
	ClassRTDose          = "rt-dose"
	ClassECG             = "ecg"
	ClassGSPS            = "gsps"
	ClassRawData         = "raw"
	ClassSpectroscopy    = "spectroscopy"
	ClassSegmentation    = "seg"
	ClassPDF             = "pdf"
	ClassCDA             = "cda"
	ClassDICOMDIR        = "dicomdir"
)

// ObjectClasses lists every class of DICOMObject.
var ObjectClasses = []string{ClassBasicTextSR, ClassEnhancedSR, ClassComprehensiveSR, ClassDoseSR, ClassKOS,
	ClassRTStruct, ClassRTPlan, ClassRTDose, ClassECG, ClassGSPS, ClassRawData, ClassSpectroscopy,
	ClassSegmentation, ClassPDF, ClassCDA, ClassDICOMDIR}

var objectSOPClass = map[string]struct{ uid, modality string }{
	ClassBasicTextSR:     {"1.2.840.10008.5.1.4.1.1.88.11", "SR"},
	ClassEnhancedSR:      {"1.2.840.10008.5.1.4.1.1.88.22", "SR"},
	ClassComprehensiveSR: {"1.2.840.10008.5.1.4.1.1.88.33", "SR"},
	ClassDoseSR:          {"1.2.840.10008.5.1.4.1.1.88.67", "SR"},
	ClassKOS:             {"1.2.840.10008.5.1.4.1.1.88.59", "KO"},
	ClassRTStruct:        {"1.2.840.10008.5.1.4.1.1.481.3", "RTSTRUCT"},
	ClassRTPlan:          {"1.2.840.10008.5.1.4.1.1.481.5", "RTPLAN"},
	ClassRTDose:          {"1.2.840.10008.5.1.4.1.1.481.2", "RTDOSE"},
	ClassECG:             {"1.2.840.10008.5.1.4.1.1.9.1.1", "ECG"},
	ClassGSPS:            {"1.2.840.10008.5.1.4.1.1.11.1", "PR"},
	ClassRawData:         {"1.2.840.10008.5.1.4.1.1.66", "OT"},
	ClassSpectroscopy:    {"1.2.840.10008.5.1.4.1.1.4.2", "MR"},
	ClassSegmentation:    {"1.2.840.10008.5.1.4.1.1.66.4", "SEG"},
	ClassPDF:             {"1.2.840.10008.5.1.4.1.1.104.1", "DOC"},
	ClassCDA:             {"1.2.840.10008.5.1.4.1.1.104.2", "DOC"},
	ClassDICOMDIR:        {"1.2.840.10008.1.3.10", ""},
}

// ObjectSpec describes a synthetic object of one class. Every value is made
// up by the caller; Text is planted in the class's free-text places (SR
// TEXT items, ROI names and descriptions, plan and beam descriptions,
// waveform annotations, presentation-state text objects, overlay-like
// graphic layer descriptions, private tags, file meta), Name in its person
// names (SR PNAME items, observers, interpreters, creators).
type ObjectSpec struct {
	Class                                  string
	PatientName, PatientID, BirthDate, Sex string
	Name                                   string // a person name planted in the class's PN places
	Text                                   string // identifying free text planted in the class's text places
	StudyUID, SeriesUID, SOPUID            string
	Date                                   string // content and study date
	// Extra attributes written at the top level (they replace defaults).
	Extra []DICOMElement
}

// DICOMObject writes a synthetic object of class s.Class in Explicit VR
// Little Endian, deterministic for one spec.
func DICOMObject(w io.Writer, s ObjectSpec) error {
	cl, ok := objectSOPClass[s.Class]
	if !ok {
		return fmt.Errorf("synth: unknown object class %q", s.Class)
	}
	def(&s.PatientName, "SYNTH^PATIENT")
	def(&s.PatientID, "SYNTH0001")
	def(&s.BirthDate, "19500101")
	def(&s.Sex, "O")
	def(&s.Name, "OBSERVER^SYNTH")
	def(&s.Text, "synthetic text")
	def(&s.StudyUID, "1.2.826.0.1.3680043.10.1561.2.1")
	def(&s.SeriesUID, "1.2.826.0.1.3680043.10.1561.2.2")
	def(&s.SOPUID, "1.2.826.0.1.3680043.10.1561.2.3")
	def(&s.Date, "20240102")

	var els []*dicom.Element
	add := func(e ...*dicom.Element) { els = append(els, e...) }
	str := func(g, e uint16, vr string, v ...string) { add(strElem(g, e, vr, v...)) }
	ints := func(g, e uint16, vr string, v ...int) { add(mkElem(g, e, vr, must(dicom.NewValue(v)))) }

	add(fileMeta(cl.uid, s.SOPUID, ExplicitVRLittleEndian, s.Text)...)

	if s.Class == ClassDICOMDIR {
		str(0x0004, 0x1130, "CS", "SYNTHDIR")
		add(mkElem(0x0004, 0x1220, "SQ", must(dicom.NewValue([][]*dicom.Element{{
			strElem(0x0004, 0x1430, "CS", "PATIENT"),
			strElem(0x0010, 0x0010, "PN", s.PatientName),
			strElem(0x0010, 0x0020, "LO", s.PatientID),
		}}))))
		sortElems(els)
		return dicom.Write(w, dicom.Dataset{Elements: els}, dicom.SkipVRVerification())
	}

	str(0x0008, 0x0005, "CS", "ISO_IR 192")
	str(0x0008, 0x0016, "UI", cl.uid)
	str(0x0008, 0x0018, "UI", s.SOPUID)
	str(0x0008, 0x0020, "DA", s.Date)
	str(0x0008, 0x0023, "DA", s.Date)
	str(0x0008, 0x0030, "TM", "101500")
	str(0x0008, 0x0033, "TM", "101500")
	str(0x0008, 0x0050, "SH", "")
	str(0x0008, 0x0060, "CS", cl.modality)
	str(0x0008, 0x0070, "LO", "SynthCo")
	str(0x0008, 0x0090, "PN", s.Name)
	str(0x0008, 0x1030, "LO", "CT THORAX "+s.Text)
	add(patientStudy(s.PatientName, s.PatientID, s.BirthDate, s.Sex, s.StudyUID, s.SeriesUID)...)
	// A private block with its creator, and a private tag without one.
	str(0x0029, 0x0010, "LO", "SYNTH PRIVATE")
	str(0x0029, 0x1001, "LO", s.Text)
	str(0x0031, 0x1001, "LO", s.Text)

	code := func(value, scheme, meaning string) []*dicom.Element {
		return []*dicom.Element{strElem(0x0008, 0x0100, "SH", value), strElem(0x0008, 0x0102, "SH", scheme), strElem(0x0008, 0x0104, "LO", meaning)}
	}
	seq := func(g, e uint16, items ...[]*dicom.Element) *dicom.Element {
		for _, it := range items {
			sortElems(it)
		}
		return mkElem(g, e, "SQ", must(dicom.NewValue(items)))
	}
	refSOP := func() []*dicom.Element {
		return []*dicom.Element{strElem(0x0008, 0x1150, "UI", "1.2.840.10008.5.1.4.1.1.2"), strElem(0x0008, 0x1155, "UI", s.SOPUID+".7")}
	}
	frameOfRef := s.StudyUID + ".5"
	refSeries := seq(0x0008, 0x1115, []*dicom.Element{strElem(0x0020, 0x000E, "UI", s.SeriesUID+".9"), seq(0x0008, 0x1140, refSOP())})

	switch s.Class {
	case ClassBasicTextSR, ClassEnhancedSR, ClassComprehensiveSR, ClassDoseSR, ClassKOS:
		item := func(rel, typ string, concept []*dicom.Element, rest ...*dicom.Element) []*dicom.Element {
			return append([]*dicom.Element{strElem(0x0040, 0xA010, "CS", rel), strElem(0x0040, 0xA040, "CS", typ),
				seq(0x0040, 0xA043, concept)}, rest...)
		}
		deep := item("CONTAINS", "CONTAINER", code("111028", "DCM", "Image Library"),
			strElem(0x0040, 0xA050, "CS", "SEPARATE"),
			seq(0x0040, 0xA730,
				item("CONTAINS", "TEXT", code("121071", "DCM", "Finding"), strElem(0x0040, 0xA160, "UT", "nodule, "+s.Text)),
				item("CONTAINS", "PNAME", code("121008", "DCM", "Person Observer Name"), strElem(0x0040, 0xA123, "PN", s.Name)),
			))
		content := [][]*dicom.Element{
			item("CONTAINS", "TEXT", code("121070", "DCM", "Findings"), strElem(0x0040, 0xA160, "UT", "Report for "+s.Text)),
			item("HAS OBS CONTEXT", "PNAME", code("121008", "DCM", "Person Observer Name"), strElem(0x0040, 0xA123, "PN", s.Name)),
			item("HAS OBS CONTEXT", "DATE", code("111060", "DCM", "Study Date"), strElem(0x0040, 0xA121, "DA", s.BirthDate)),
			item("HAS OBS CONTEXT", "DATETIME", code("111526", "DCM", "DateTime Started"), strElem(0x0040, 0xA120, "DT", s.BirthDate+"101500")),
			item("HAS OBS CONTEXT", "UIDREF", code("121018", "DCM", "Procedure Study Instance UID"), strElem(0x0040, 0xA124, "UI", s.StudyUID)),
			item("CONTAINS", "NUM", code("113830", "DCM", "Mean CTDIvol"), seq(0x0040, 0xA300, []*dicom.Element{
				strElem(0x0040, 0xA30A, "DS", "12.5"), seq(0x0040, 0x08EA, code("mGy", "UCUM", "mGy"))})),
			item("CONTAINS", "CODE", code("123014", "DCM", "Target Region"), seq(0x0040, 0xA168, code("T-D3000", "SRT", "Chest"))),
			item("CONTAINS", "IMAGE", code("121112", "DCM", "Source of Measurement"), seq(0x0008, 0x1199, refSOP())),
			deep,
		}
		str(0x0040, 0xA040, "CS", "CONTAINER")
		str(0x0040, 0xA050, "CS", "SEPARATE")
		str(0x0040, 0xA491, "CS", "COMPLETE")
		str(0x0040, 0xA493, "CS", "VERIFIED")
		add(seq(0x0040, 0xA043, code("18748-4", "LN", "Diagnostic Imaging Report")))
		add(seq(0x0040, 0xA073, []*dicom.Element{strElem(0x0040, 0xA027, "LO", "Clinique "+s.Text), strElem(0x0040, 0xA030, "DT", s.Date+"101500"),
			strElem(0x0040, 0xA075, "PN", s.Name)}))
		add(seq(0x0040, 0xA375, []*dicom.Element{strElem(0x0020, 0x000D, "UI", s.StudyUID+".2"), refSeries}))
		add(seq(0x0040, 0xA730, content...))
	case ClassRTStruct:
		str(0x3006, 0x0002, "SH", trunc(s.Text, 16))
		str(0x3006, 0x0004, "LO", s.Text)
		str(0x3006, 0x0006, "ST", s.Text)
		str(0x3006, 0x0008, "DA", s.Date)
		str(0x3006, 0x0009, "TM", "101500")
		add(seq(0x3006, 0x0010, []*dicom.Element{strElem(0x0020, 0x0052, "UI", frameOfRef)}))
		add(seq(0x3006, 0x0020, []*dicom.Element{strElem(0x3006, 0x0022, "IS", "1"), strElem(0x3006, 0x0024, "UI", frameOfRef),
			strElem(0x3006, 0x0026, "LO", "GTV "+s.Text), strElem(0x3006, 0x0028, "ST", "drawn for "+s.Text), strElem(0x3006, 0x0036, "CS", "MANUAL")}))
		add(seq(0x3006, 0x0039, []*dicom.Element{strElem(0x3006, 0x0084, "IS", "1"), mkElem(0x3006, 0x002A, "IS", must(dicom.NewValue([]string{"255", "0", "0"}))),
			seq(0x3006, 0x0040, []*dicom.Element{strElem(0x3006, 0x0042, "CS", "CLOSED_PLANAR"), strElem(0x3006, 0x0046, "IS", "3"),
				strElem(0x3006, 0x0050, "DS", "12345.5", "1.5", "0", "2.5", "1.5", "0", "2.5", "3.5", "0")})}))
		add(seq(0x3006, 0x0080, []*dicom.Element{strElem(0x3006, 0x0082, "IS", "1"), strElem(0x3006, 0x0084, "IS", "1"),
			strElem(0x3006, 0x0085, "SH", trunc(s.Text, 16)), strElem(0x3006, 0x00A4, "CS", "GTV"), strElem(0x3006, 0x00A6, "PN", s.Name)}))
	case ClassRTPlan:
		str(0x300A, 0x0002, "SH", trunc(s.Text, 16))
		str(0x300A, 0x0003, "LO", s.Text)
		str(0x300A, 0x0004, "ST", s.Text)
		str(0x300A, 0x0006, "DA", s.Date)
		str(0x300A, 0x000C, "CS", "PATIENT")
		add(seq(0x300A, 0x00B0, []*dicom.Element{strElem(0x300A, 0x00C0, "IS", "1"), strElem(0x300A, 0x00C2, "LO", "beam "+s.Text),
			strElem(0x300A, 0x00C3, "ST", s.Text), strElem(0x300A, 0x00B2, "SH", "LINAC1"), strElem(0x300A, 0x00C4, "CS", "STATIC")}))
		add(seq(0x300A, 0x0070, []*dicom.Element{strElem(0x300A, 0x0071, "IS", "1"), strElem(0x300A, 0x0078, "IS", "30")}))
	case ClassRTDose, ClassSegmentation:
		bits, frames := 16, 2
		if s.Class == ClassSegmentation {
			bits, frames = 1, 1
			str(0x0062, 0x0001, "CS", "BINARY")
			add(seq(0x0062, 0x0002, []*dicom.Element{mkElem(0x0062, 0x0004, "US", must(dicom.NewValue([]int{1}))), strElem(0x0062, 0x0005, "LO", "lesion "+s.Text),
				strElem(0x0062, 0x0006, "ST", s.Text), strElem(0x0062, 0x0008, "CS", "MANUAL")}))
			add(seq(0x0008, 0x1115, []*dicom.Element{strElem(0x0020, 0x000E, "UI", s.SeriesUID+".9")}))
		} else {
			str(0x3004, 0x0002, "CS", "GY")
			str(0x3004, 0x0004, "CS", "PHYSICAL")
			str(0x3004, 0x0006, "LO", s.Text)
			str(0x3004, 0x000A, "CS", "PLAN")
			str(0x3004, 0x000C, "DS", "0", "5")
			str(0x3004, 0x000E, "DS", "0.001")
			add(mkElem(0x0028, 0x0009, "AT", must(dicom.NewValue([]int{0x3004000C}))))
			str(0x0020, 0x0052, "UI", frameOfRef)
		}
		ints(0x0028, 0x0002, "US", 1)
		str(0x0028, 0x0004, "CS", "MONOCHROME2")
		str(0x0028, 0x0008, "IS", fmt.Sprint(frames))
		ints(0x0028, 0x0010, "US", 8)
		ints(0x0028, 0x0011, "US", 8)
		ints(0x0028, 0x0100, "US", bits)
		ints(0x0028, 0x0101, "US", bits)
		ints(0x0028, 0x0102, "US", bits-1)
		ints(0x0028, 0x0103, "US", 0)
		n := 8 * 8 * frames * bits / 8
		px := make([]byte, n+n%2)
		for i := range px {
			px[i] = byte(i)
		}
		add(mkElem(0x7FE0, 0x0010, "OW", must(dicom.NewValue(dicom.PixelDataInfo{IntentionallyUnprocessed: true, UnprocessedValueData: px}))))
	case ClassECG:
		samples := make([]byte, 2*2*4)
		for i := 0; i < 8; i++ {
			binary.LittleEndian.PutUint16(samples[2*i:], uint16(100*i))
		}
		add(seq(0x5400, 0x0100, []*dicom.Element{
			strElem(0x003A, 0x0004, "CS", "ORIGINAL"),
			mkElem(0x003A, 0x0005, "US", must(dicom.NewValue([]int{2}))),
			mkElem(0x003A, 0x0010, "UL", must(dicom.NewValue([]int{4}))),
			strElem(0x003A, 0x001A, "DS", "500"),
			strElem(0x003A, 0x0020, "SH", trunc(s.Text, 16)),
			seq(0x003A, 0x0200, []*dicom.Element{strElem(0x003A, 0x0203, "SH", "lead I"), seq(0x003A, 0x0208, code("5.6.3-9-1", "SCPECG", "Lead I"))},
				[]*dicom.Element{strElem(0x003A, 0x0203, "SH", "lead II"), seq(0x003A, 0x0208, code("5.6.3-9-2", "SCPECG", "Lead II"))}),
			mkElem(0x5400, 0x1004, "US", must(dicom.NewValue([]int{16}))),
			strElem(0x5400, 0x1006, "CS", "SS"),
			mkElem(0x5400, 0x1010, "OW", must(dicom.NewValue(samples))),
		}))
		add(seq(0x0040, 0xB020, []*dicom.Element{strElem(0x0070, 0x0006, "ST", "ECG of "+s.Text),
			mkElem(0x0040, 0xA0B0, "US", must(dicom.NewValue([]int{1, 0})))}))
		str(0x0018, 0x1800, "CS", "N")
	case ClassGSPS:
		str(0x0070, 0x0080, "CS", "SYNTHPR")
		str(0x0070, 0x0081, "LO", s.Text)
		str(0x0070, 0x0082, "DA", s.Date)
		str(0x0070, 0x0083, "TM", "101500")
		str(0x0070, 0x0084, "PN", s.Name)
		add(seq(0x0008, 0x1115, []*dicom.Element{strElem(0x0020, 0x000E, "UI", s.SeriesUID+".9"), seq(0x0008, 0x1140, refSOP())}))
		add(seq(0x0070, 0x0001, []*dicom.Element{strElem(0x0070, 0x0002, "CS", "LAYER1"),
			seq(0x0070, 0x0008, []*dicom.Element{strElem(0x0070, 0x0006, "ST", "arrow: "+s.Text), strElem(0x0070, 0x0003, "CS", "PIXEL"),
				mkElem(0x0070, 0x0010, "FL", must(dicom.NewValue([]float64{1, 1}))), mkElem(0x0070, 0x0011, "FL", must(dicom.NewValue([]float64{20, 10})))}),
		}))
		add(seq(0x0070, 0x0060, []*dicom.Element{strElem(0x0070, 0x0002, "CS", "LAYER1"), mkElem(0x0070, 0x0062, "IS", must(dicom.NewValue([]string{"1"}))),
			strElem(0x0070, 0x0068, "LO", s.Text)}))
		str(0x2050, 0x0020, "CS", "IDENTITY")
	case ClassRawData:
		add(mkElem(0x0029, 0x1002, "OB", must(dicom.NewValue(evenBytes("raw "+s.Text)))))
	case ClassSpectroscopy:
		ints(0x0028, 0x0010, "US", 1)
		ints(0x0028, 0x0011, "US", 1)
		str(0x0028, 0x0008, "IS", "1")
		ints(0x0028, 0x9001, "UL", 1)
		ints(0x0028, 0x9002, "UL", 4)
		str(0x0028, 0x9003, "CS", "SINGLE PLANE")
		str(0x0028, 0x9108, "CS", "COMPLEX")
		// No Spectroscopy Data (5600,0020): suyashkumar/dicom v1.1.0
		// cannot write an OF value.
	case ClassPDF, ClassCDA:
		mime := "application/pdf"
		doc := "%PDF-1.4 report of " + s.Text
		if s.Class == ClassCDA {
			mime, doc = "text/xml", "<ClinicalDocument>"+s.Text+"</ClinicalDocument>"
		}
		str(0x0042, 0x0010, "ST", "report")
		str(0x0042, 0x0012, "LO", mime)
		add(mkElem(0x0042, 0x0011, "OB", must(dicom.NewValue(evenBytes(doc)))))
	}
	for _, x := range s.Extra {
		e, err := extraElem(x)
		if err != nil {
			return err
		}
		els = replaceOrAppend(els, e)
	}
	sortElems(els)
	return dicom.Write(w, dicom.Dataset{Elements: els}, dicom.SkipVRVerification())
}
