package dcm

import (
	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/frame"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// The fast decoder's containers: sequence items and the fragments of
// encapsulated pixel data (see decode.go).

// sequence reads the items of a sequence (or of a UN value of undefined
// length, which the library reads as one).
func (d *decoder) sequence(vl uint32, end int) (dicom.Value, error) {
	start := len(d.ar.itemStack)
	err := d.children(vl, end, tag.SequenceDelimitationItem, func(end int, until *tag.Tag) (bool, error) {
		e, delim, err := d.item(end, until)
		if err == nil && !delim {
			d.ar.itemStack = append(d.ar.itemStack, e)
		}
		return delim, err
	})
	if err != nil {
		return nil, err
	}
	return d.ar.popSequence(start), nil
}

// item reads one item of a sequence and returns its elements, or delim
// at the sequence delimiter until.
func (d *decoder) item(end int, until *tag.Tag) (els []*dicom.Element, delim bool, err error) {
	if until != nil && d.pos+8 <= end && d.bo.Uint16(d.b[d.pos:]) == 0xFFFE && d.bo.Uint16(d.b[d.pos+2:]) == until.Element {
		_, err := d.element(end, until)
		return nil, true, err
	}
	t, _, vl, err := d.header(end)
	if err != nil || t != tag.Item {
		return nil, false, errNotFast
	}
	start := len(d.ar.elStack)
	err = d.children(vl, end, tag.ItemDelimitationItem, func(end int, until *tag.Tag) (bool, error) {
		e, err := d.element(end, until)
		switch {
		case err != nil:
			return false, err
		case until != nil && e.Tag == *until:
			return true, nil
		case e.Tag.Group == 0xFFFE:
			return false, errNotFast
		}
		d.ar.elStack = append(d.ar.elStack, e)
		return false, nil
	})
	if err != nil {
		return nil, false, err
	}
	return d.ar.popElements(start), false, nil
}

// children reads what a container of length vl holds, calling next for
// each child: up to the delimiter stop when the length is undefined (next
// gets it as until and reports done when it read it), else up to the
// container's end (until is nil).
func (d *decoder) children(vl uint32, end int, stop tag.Tag, next func(end int, until *tag.Tag) (done bool, err error)) error {
	until := &stop
	if vl != tag.VLUndefinedLength {
		var err error
		if end, err = d.within(vl, end); err != nil {
			return err
		}
		until = nil
	}
	for until != nil || d.pos < end {
		done, err := next(end, until)
		if err != nil || done {
			return err
		}
	}
	return nil
}

func (d *decoder) pixels(vl uint32, end int) (dicom.Value, error) {
	if vl != tag.VLUndefinedLength {
		raw, err := d.take(vl, end)
		if err != nil {
			return nil, err
		}
		if d.skipPixels {
			return dicom.NewValue(dicom.PixelDataInfo{IntentionallySkipped: true})
		}
		return dicom.NewValue(dicom.PixelDataInfo{IntentionallyUnprocessed: true, UnprocessedValueData: clone(raw)})
	}
	// Encapsulated: the basic offset table is skipped, then one frame per
	// item up to the sequence delimiter.
	info := dicom.PixelDataInfo{IsEncapsulated: true, IntentionallySkipped: d.skipPixels}
	first := true
	for {
		if d.pos+8 > end {
			return nil, errNotFast
		}
		t := tag.Tag{Group: d.bo.Uint16(d.b[d.pos:]), Element: d.bo.Uint16(d.b[d.pos+2:])}
		vl := d.bo.Uint32(d.b[d.pos+4:])
		if t == tag.SequenceDelimitationItem && !first {
			d.pos += 8
			break
		}
		if t != tag.Item || vl == tag.VLUndefinedLength || implicitVR(t) != "NA" {
			return nil, errNotFast
		}
		d.pos += 8
		raw, err := d.take(vl, end)
		if err != nil {
			return nil, err
		}
		if !first {
			var data []byte
			if !d.skipPixels {
				data = clone(raw)
			}
			info.Frames = append(info.Frames, &frame.Frame{Encapsulated: true, EncapsulatedData: frame.EncapsulatedFrame{Data: data}})
		}
		first = false
	}
	return dicom.NewValue(info)
}

// within returns where a value of defined length vl starting here ends,
// when it ends before end.
func (d *decoder) within(vl uint32, end int) (int, error) {
	if vl == tag.VLUndefinedLength || int64(vl) > int64(end-d.pos) {
		return 0, errNotFast
	}
	return d.pos + int(vl), nil
}
