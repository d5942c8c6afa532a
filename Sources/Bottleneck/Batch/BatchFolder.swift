import Foundation

/// What a batch output folder holds: every item's video directly in it, under a plain file
/// name (from `--name-template` or the line's `output`, never with a `/`); `manifest.jsonl`;
/// the lock files (`BatchFolderLock`); and, while an item is written, its hidden partial file
/// (`TemporaryOutputName`). Since a name is a plain file name, the manifest records it as it
/// is, and a folder that is moved or copied resumes where it stopped.
public enum BatchFolder {
    public static let manifestName = "manifest.jsonl"

    /// Why a name with a `/` is refused (a subfolder would not exist when the item is written).
    static let nameRule = "names are files directly in the output folder (no '/'); "
        + "to write into a subfolder, give it to -o"

    /// The item name an output recorded in a manifest refers to: its last path component, since
    /// older manifests recorded the whole path given to the writer.
    static func itemName(ofRecorded output: String) -> String { (output as NSString).lastPathComponent }
}
