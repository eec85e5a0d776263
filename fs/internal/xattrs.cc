#include "fs/internal/xattrs.h"

#include "codecs/sha256.h"

namespace dcmfs {
namespace {

using Builder = XattrBuilder;

void AddPatient(Builder& b, const PatientRecord& p) {
  b.Add("PatientID", p.id);
  b.Add("PatientName", p.name);
}

void AddStudy(Builder& b, const StudyRecord& s) {
  b.Add("StudyInstanceUID", s.uid);
  b.Add("StudyDate", s.date);
  b.Add("StudyDescription", s.description);
  b.Add("AccessionNumber", s.accession);
}

void AddSeries(Builder& b, const SeriesRecord& s) {
  b.Add("SeriesInstanceUID", s.uid);
  b.Add("SeriesNumber", s.number);
  b.Add("Modality", s.modality);
  b.Add("SeriesDescription", s.description);
}

void AddInstance(Builder& b, const InstanceMeta& m) {
  b.Add("PatientID", m.patient_id);
  b.Add("PatientName", m.patient_name);
  b.Add("StudyInstanceUID", m.study_uid);
  b.Add("StudyDate", m.study_date);
  b.Add("StudyDescription", m.study_description);
  b.Add("AccessionNumber", m.accession_number);
  b.Add("SeriesInstanceUID", m.series_uid);
  b.Add("SeriesNumber", m.series_number);
  b.Add("Modality", m.modality);
  b.Add("SeriesDescription", m.series_description);
  b.Add("SOPInstanceUID", m.sop_uid);
  b.Add("SOPClassUID", m.sop_class_uid);
  b.Add("TransferSyntaxUID", m.transfer_syntax_uid);
  b.Add("InstanceNumber", m.instance_number);
  b.AddCount("NumberOfFrames", m.number_of_frames);
  b.AddCount("Rows", m.rows);
  b.AddCount("Columns", m.columns);
}

// A study's patient record, tolerating its absence (older catalogs).
void AddPatientOfStudy(const Catalog& catalog, Builder& b, const StudyRecord& study) {
  Result<PatientRecord> patient = catalog.GetPatient(study.patient_key);
  if (patient.ok()) AddPatient(b, *patient);
}

}  // namespace

Result<XattrList> DicomXattrs(const Catalog& catalog, NodeKind kind, std::string_view ref) {
  Builder b;
  switch (kind) {
    case NodeKind::kPatient: {
      ASSIGN_OR_RETURN(PatientRecord p, catalog.GetPatient(ref));
      AddPatient(b, p);
      break;
    }
    case NodeKind::kStudy: {
      ASSIGN_OR_RETURN(StudyRecord s, catalog.GetStudy(ref));
      AddPatientOfStudy(catalog, b, s);
      AddStudy(b, s);
      break;
    }
    case NodeKind::kSeries: {
      ASSIGN_OR_RETURN(SeriesRecord series, catalog.GetSeries(ref));
      Result<StudyRecord> study = catalog.GetStudy(series.study_uid);
      if (study.ok()) {
        AddPatientOfStudy(catalog, b, *study);
        AddStudy(b, *study);
      }
      AddSeries(b, series);
      break;
    }
    case NodeKind::kInstance: {
      std::optional<Digest> digest = DigestFromHex(ref);
      if (!digest) return Status::Internal("instance entry without a digest");
      ASSIGN_OR_RETURN(InstanceRecord inst, catalog.GetInstance(*digest));
      AddInstance(b, inst.meta);
      break;
    }
    case NodeKind::kVirtual:
    case NodeKind::kVirtualFolder:
      break;
  }
  return b.Take();
}

}  // namespace dcmfs
