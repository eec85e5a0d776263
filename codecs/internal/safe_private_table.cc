// PS3.15 Table E.3.10-1 "Safe Private Attributes".
//
// Source: the table as published in the DICOM Standard PS3.15 and converted
// to reStructuredText in github.com/chsasank/dicom_standard
// (source/part15/chapter_E.rst, commit 2384a79, August 2020; that text cites
// PS3.3 2019a as past, so it is about edition 2020a). All 130 rows of that
// edition are here, parsed from the table mechanically; Meanings are
// shortened to their first clause. Later editions added rows (CP-1672 and
// after); they are not here until checked against the standard itself.
//
// The standard's note applies: "Vendors do not guarantee them to be safe,
// and do not commit to sending them in any particular software version".
// Rows without a VR are as the table has them (no VR given).
#include "codecs/internal/safe_private_table.h"

#include <algorithm>
#include <array>

namespace dcmfs::codecs_internal {
namespace {

constexpr std::array kTable = std::to_array<SafePrivateAttribute>({
    {"Philips PET Private Group", 0x7053, 0x00, "DS", "SUV Factor"},
    {"Philips PET Private Group", 0x7053, 0x09, "DS", "Activity Concentration Factor"},
    {"ELSCINT1", 0x00E1, 0x21, "DS", "DLP"},
    {"ELSCINT1", 0x00E1, 0x50, "DS", "Acquisition Duration"},
    {"ELSCINT1", 0x01E1, 0x26, "CS", "Phantom Type"},
    {"ELSCINT1", 0x01F1, 0x01, "CS", "Acquisition Type"},
    {"ELSCINT1", 0x01F1, 0x07, "DS", "Table Velocity"},
    {"ELSCINT1", 0x01F1, 0x26, "DS", "Pitch"},
    {"ELSCINT1", 0x01F1, 0x27, "DS", "Rotation Time"},
    {"GEMS_ACQU_01", 0x0019, 0x23, "DS", "Table Speed [mm/rotation]"},
    {"GEMS_ACQU_01", 0x0019, 0x24, "DS", "Mid Scan Time [sec]"},
    {"GEMS_ACQU_01", 0x0019, 0x27, "DS", "Rotation Speed (Gantry Period)"},
    {"GEMS_ACQU_01", 0x0019, 0x9E, "LO", "Internal Pulse Sequence Name"},
    {"GEMS_PARM_01", 0x0043, 0x27, "SH", "Scan Pitch Ratio in the form \"n.nnn:1\""},
    {"GEMS_HELIOS_01", 0x0045, 0x01, "SS", "Number of Macro Rows in Detector"},
    {"GEMS_HELIOS_01", 0x0045, 0x02, "FL", "Macro width at ISO Center"},
    {"GEIIS PACS", 0x0903, 0x10, "US", "Reject Image Flag"},
    {"GEIIS PACS", 0x0903, 0x11, "US", "Significant Flag"},
    {"GEIIS PACS", 0x0903, 0x12, "US", "Confidential Flag"},
    {"Philips Imaging DD 001", 0x2001, 0x03, "FL", "Diffusion B-Factor"},
    {"Philips Imaging DD 001", 0x2001, 0x04, "CS", "Diffusion Direction"},
    {"SIEMENS MR HEADER", 0x0019, 0x0C, "IS", "B Value"},
    {"SIEMENS MR HEADER", 0x0019, 0x0D, "CS", "Diffusion Directionality"},
    {"SIEMENS MR HEADER", 0x0019, 0x0E, "FD", "Diffusion Gradient Direction"},
    {"SIEMENS MR HEADER", 0x0019, 0x27, "FD", "B Matrix"},
    {"GEMS_PARM_01", 0x0043, 0x39, "IS", "1st value is B Value"},
    {"GEMS_PARM_01", 0x0043, 0x6F, "DS", "Scanner Table Entry + Gradient Coil Selected"},
    {"GEMS_SERS_01", 0x0025, 0x07, "SL", "Images in Series"},
    {"HOLOGIC, Inc.", 0x7E01, 0x01, "LO", "Codec Version"},
    {"HOLOGIC, Inc.", 0x7E01, 0x02, "SH", "Codec Content Type"},
    {"HOLOGIC, Inc.", 0x7E01, 0x10, "SQ", "High Resolution Data Sequence"},
    {"HOLOGIC, Inc.", 0x7E01, 0x11, "SQ", "Low Resolution Data Sequence"},
    {"HOLOGIC, Inc.", 0x7E01, 0x12, "OB", "Codec Content"},
    {"NQHeader", 0x0099, 0x01, "UI", "Version"},
    {"NQHeader", 0x0099, 0x02, "UI", "Analyzed Series UID"},
    {"NQHeader", 0x0099, 0x04, "SS", "Return Code"},
    {"NQHeader", 0x0099, 0x05, "LT", "Return Message"},
    {"NQHeader", 0x0099, 0x10, "FL", "MI"},
    {"NQHeader", 0x0099, 0x20, "SH", "Units"},
    {"NQHeader", 0x0099, 0x21, "FL", "ICV"},
    {"NQLeft", 0x0199, 0x01, "FL", "Left Cortical White Matter"},
    {"NQLeft", 0x0199, 0x02, "FL", "Left Cortical Gray Matter"},
    {"NQLeft", 0x0199, 0x03, "FL", "Left 3rd Ventricle"},
    {"NQLeft", 0x0199, 0x04, "FL", "Left 4th Ventricle"},
    {"NQLeft", 0x0199, 0x05, "FL", "Left 5th Ventricle"},
    {"NQLeft", 0x0199, 0x06, "FL", "Left Lateral Ventricle"},
    {"NQLeft", 0x0199, 0x07, "FL", "Left Inferior Lateral Ventricle"},
    {"NQLeft", 0x0199, 0x08, "FL", "Left Inferior CSF"},
    {"NQLeft", 0x0199, 0x09, "FL", "Left Cerebellar White Matter"},
    {"NQLeft", 0x0199, 0x0A, "FL", "Left Cerebellar Gray Matter"},
    {"NQLeft", 0x0199, 0x0B, "FL", "Left Hippocampus"},
    {"NQLeft", 0x0199, 0x0C, "FL", "Left Amygdala"},
    {"NQLeft", 0x0199, 0x0D, "FL", "Left Thalamus"},
    {"NQLeft", 0x0199, 0x0E, "FL", "Left Caudate"},
    {"NQLeft", 0x0199, 0x0F, "FL", "Left Putamen"},
    {"NQLeft", 0x0199, 0x10, "FL", "Left Pallidum"},
    {"NQLeft", 0x0199, 0x11, "FL", "Left Ventral Diencephalon"},
    {"NQLeft", 0x0199, 0x12, "FL", "Left Nucleus Accumbens"},
    {"NQLeft", 0x0199, 0x13, "FL", "Left Brain Stem"},
    {"NQLeft", 0x0199, 0x14, "FL", "Left Exterior CSF"},
    {"NQLeft", 0x0199, 0x15, "FL", "Left WM Hypo"},
    {"NQLeft", 0x0199, 0x16, "FL", "Left Other"},
    {"NQRight", 0x0299, 0x01, "FL", "Right Cortical White Matter"},
    {"NQRight", 0x0299, 0x02, "FL", "Right Cortical Gray Matter"},
    {"NQRight", 0x0299, 0x03, "FL", "Right 3rd Ventricle"},
    {"NQRight", 0x0299, 0x04, "FL", "Right 4th Ventricle"},
    {"NQRight", 0x0299, 0x05, "FL", "Right 5th Ventricle"},
    {"NQRight", 0x0299, 0x06, "FL", "Right Lateral Ventricle"},
    {"NQRight", 0x0299, 0x07, "FL", "Right Inferior Lateral Ventricle"},
    {"NQRight", 0x0299, 0x08, "FL", "Right Inferior CSF"},
    {"NQRight", 0x0299, 0x09, "FL", "Right Cerebellar White Matter"},
    {"NQRight", 0x0299, 0x0A, "FL", "Right Cerebellar Gray Matter"},
    {"NQRight", 0x0299, 0x0B, "FL", "Right Hippocampus"},
    {"NQRight", 0x0299, 0x0C, "FL", "Right Amygdala"},
    {"NQRight", 0x0299, 0x0D, "FL", "Right Thalamus"},
    {"NQRight", 0x0299, 0x0E, "FL", "Right Caudate"},
    {"NQRight", 0x0299, 0x0F, "FL", "Right Putamen"},
    {"NQRight", 0x0299, 0x10, "FL", "Right Pallidum"},
    {"NQRight", 0x0299, 0x11, "FL", "Right Ventral Diencephalon"},
    {"NQRight", 0x0299, 0x12, "FL", "Right Nucleus Accumbens"},
    {"NQRight", 0x0299, 0x13, "FL", "Right Brain Stem"},
    {"NQRight", 0x0299, 0x14, "FL", "Right Exterior CSF"},
    {"NQRight", 0x0299, 0x15, "FL", "Right WM Hypo"},
    {"NQRight", 0x0299, 0x16, "FL", "Right Other"},
    {"Philips MR Imaging DD 001", 0x2005, 0x0D, "FL", "Scale Intercept"},
    {"Philips MR Imaging DD 001", 0x2005, 0x0E, "FL", "Scale Slope"},
    {"SIEMENS Ultrasound SC2000", 0x0119, 0x00, "LO", "Acoustic Meta Information Version"},
    {"SIEMENS Ultrasound SC2000", 0x0119, 0x01, "OB", "Common Acoustic Meta Information"},
    {"SIEMENS Ultrasound SC2000", 0x0119, 0x02, "SQ", "Multi Stream Sequence"},
    {"SIEMENS Ultrasound SC2000", 0x0119, 0x03, "SQ", "Acoustic Data Sequence"},
    {"SIEMENS Ultrasound SC2000", 0x0119, 0x04, "OB",
     "Per Transaction Acoustic Control Information"},
    {"SIEMENS Ultrasound SC2000", 0x0119, 0x05, "UL", "Acoustic Data Offset"},
    {"SIEMENS Ultrasound SC2000", 0x0119, 0x06, "UL", "Acoustic Data Length"},
    {"SIEMENS Ultrasound SC2000", 0x0119, 0x07, "UL", "Footer Offset"},
    {"SIEMENS Ultrasound SC2000", 0x0119, 0x08, "UL", "Footer Length"},
    {"SIEMENS Ultrasound SC2000", 0x0119, 0x09, "SS", "Acoustic Stream Number"},
    {"SIEMENS Ultrasound SC2000", 0x0119, 0x10, "SH", "Acoustic Stream Type"},
    {"SIEMENS Ultrasound SC2000", 0x0119, 0x11, "", "Stage Timer Time"},
    {"SIEMENS Ultrasound SC2000", 0x0119, 0x12, "", "Stop Watch Time"},
    {"SIEMENS Ultrasound SC2000", 0x0119, 0x13, "IS", "Volume Rate"},
    {"SIEMENS Ultrasound SC2000", 0x0119, 0x21, "SH", ""},
    {"SIEMENS Ultrasound SC2000", 0x0129, 0x00, "SQ", "MPR View Sequence"},
    {"SIEMENS Ultrasound SC2000", 0x0129, 0x02, "UI", "Bookmark UID"},
    {"SIEMENS Ultrasound SC2000", 0x0129, 0x03, "", "Plane Origin Vector"},
    {"SIEMENS Ultrasound SC2000", 0x0129, 0x04, "", "Row Vector"},
    {"SIEMENS Ultrasound SC2000", 0x0129, 0x05, "", "Column Vector"},
    {"SIEMENS Ultrasound SC2000", 0x0129, 0x06, "SQ", "Visualization Sequence"},
    {"SIEMENS Ultrasound SC2000", 0x0129, 0x07, "UI", "Bookmark UID"},
    {"SIEMENS Ultrasound SC2000", 0x0129, 0x08, "OB", "Visualization Information"},
    {"SIEMENS Ultrasound SC2000", 0x0129, 0x09, "SQ", "Application State Sequence"},
    {"SIEMENS Ultrasound SC2000", 0x0129, 0x10, "OB", "Application State Information"},
    {"SIEMENS Ultrasound SC2000", 0x0129, 0x11, "SQ", "Referenced Bookmark Sequence"},
    {"SIEMENS Ultrasound SC2000", 0x0129, 0x12, "UI", "Referenced Bookmark UID"},
    {"SIEMENS Ultrasound SC2000", 0x0129, 0x20, "SQ", "Cine Parameters Sequence"},
    {"SIEMENS Ultrasound SC2000", 0x0129, 0x21, "OB", "Cine Parameters Schema"},
    {"SIEMENS Ultrasound SC2000", 0x0129, 0x22, "OB", "Values of Cine Parameters"},
    {"SIEMENS Ultrasound SC2000", 0x0129, 0x29, "OB", ""},
    {"SIEMENS Ultrasound SC2000", 0x0129, 0x30, "CS", "Raw Data Object Type"},
    {"SIEMENS Ultrasound SC2000", 0x0139, 0x01, "SL", "Physio Capture ROI"},
    {"SIEMENS Ultrasound SC2000", 0x0149, 0x01, "FD", "Vector of BROI Points"},
    {"SIEMENS Ultrasound SC2000", 0x0149, 0x02, "FD", "Start/End Timestamps of Strip Stream"},
    {"SIEMENS Ultrasound SC2000", 0x0149, 0x03, "FD", "Timestamps of Visible R-waves"},
    {"SIEMENS Ultrasound SC2000", 0x7FD1, 0x01, "OB", "Acoustic Image and Footer Data"},
    {"SIEMENS Ultrasound SC2000", 0x7FD1, 0x09, "UI", "Volume Version ID"},
    {"SIEMENS Ultrasound SC2000", 0x7FD1, 0x10, "OB", "Volume Payload"},
    {"SIEMENS Ultrasound SC2000", 0x7FD1, 0x11, "OB", "After Payload"},
    {"SIEMENS SYNGO ULTRA-SOUND TOYON DATA STREAMING", 0x7FD1, 0x01, "OB", "Padding"},
    {"SIEMENS SYNGO ULTRA-SOUND TOYON DATA STREAMING", 0x7FD1, 0x09, "UI", "Version ID"},
    {"SIEMENS SYNGO ULTRA-SOUND TOYON DATA STREAMING", 0x7FD1, 0x10, "OB", "Volume Payload"},
    {"SIEMENS SYNGO ULTRA-SOUND TOYON DATA STREAMING", 0x7FD1, 0x11, "OB", "After Payload"},
});

std::string_view Trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return s;
}

}  // namespace

std::span<const SafePrivateAttribute> SafePrivateAttributes() { return kTable; }

bool IsSafePrivate(std::string_view creator, uint16_t group, uint8_t element) {
  creator = Trimmed(creator);
  // 130 rows: a linear scan costs less than building an index per process.
  return std::any_of(kTable.begin(), kTable.end(), [&](const SafePrivateAttribute& a) {
    return a.group == group && a.element == element && a.creator == creator;
  });
}

}  // namespace dcmfs::codecs_internal
