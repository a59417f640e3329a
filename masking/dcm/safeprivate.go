package dcm

// DefaultSafePrivate is the embedded Retain Safe Private list of the
// research profile (PS3.15 E.3.10, issue 19 item 1): creator-qualified
// private attributes, as "CREATOR|gggg,xxee", that hold acquisition and
// quantitation parameters which research on the images needs (CT table
// speed and rotation, MR diffusion b-values and directions, Philips MR
// scaling, PET SUV factors) and that, by their vendors' conformance
// statements, carry no identifying value: numbers and codes only.
//
// Each kept value still goes through the VR rule like any attribute the
// table does not name (text scrubbed, a number equal to one of the
// person's identifiers zeroed), and an element whose creator is absent or
// different is removed: the list is a ceiling, never a pass for text. A
// configuration's dicom.safe_private entries are added to it.
var DefaultSafePrivate = []string{
	// GE CT acquisition (GEMS_ACQU_01, group 0019).
	"GEMS_ACQU_01|0019,xx23", // table speed (mm/rotation), DS
	"GEMS_ACQU_01|0019,xx24", // mid scan time (s), DS
	"GEMS_ACQU_01|0019,xx27", // rotation speed (gantry period), DS
	// GE detector geometry (GEMS_HELIOS_01, group 0045).
	"GEMS_HELIOS_01|0045,xx01", // number of macro rows in detector, SS
	"GEMS_HELIOS_01|0045,xx02", // macro width at iso centre, FL
	// Siemens MR (SIEMENS MR HEADER, group 0019): diffusion and mosaic.
	"SIEMENS MR HEADER|0019,xx0A", // number of images in mosaic, US
	"SIEMENS MR HEADER|0019,xx0B", // slice measurement duration, DS
	"SIEMENS MR HEADER|0019,xx0C", // b value, IS
	"SIEMENS MR HEADER|0019,xx0D", // diffusion directionality, CS
	"SIEMENS MR HEADER|0019,xx0E", // diffusion gradient direction, FD
	"SIEMENS MR HEADER|0019,xx27", // b matrix, FD
	"SIEMENS MR HEADER|0019,xx28", // bandwidth per pixel phase encode, FD
	"SIEMENS MR HEADER|0019,xx29", // mosaic slice acquisition times, FD
	// Philips MR (group 2001 and 2005).
	"Philips Imaging DD 001|2001,xx03",    // diffusion b-factor, FL
	"Philips Imaging DD 001|2001,xx04",    // diffusion direction, CS
	"Philips MR Imaging DD 001|2005,xx0D", // scale intercept, FL
	"Philips MR Imaging DD 001|2005,xx0E", // scale slope, FL
	// Philips PET quantitation (group 7053).
	"Philips PET Private Group|7053,xx00", // SUV factor, DS
	"Philips PET Private Group|7053,xx09", // activity concentration factor, DS
}
