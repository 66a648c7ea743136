package attnc.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Output paths are checked before any work starts, and written whole or not at all: a file is
 * written beside its destination and moved over it once complete, so an interrupted or failed
 * command leaves nothing half-written.
 */
final class OutputPaths {
    private OutputPaths() {}

    /** A file to create or replace: refused when it is a folder or cannot be written. */
    static void requireFile(String option, Path file) {
        if (Files.isDirectory(file)) {
            throw new UserError(option + " " + file + ": is a folder; expected the path of a file to write");
        }
        if (Files.exists(file) && !Files.isWritable(file)) throw new UserError(option + " " + file + ": is not writable");
        requireCreatable(option, file.toAbsolutePath().getParent(), file);
    }

    /**
     * A folder to write files into, created if absent: refused when the path is a file (a run's
     * results never replace a file of the same name) or the folder cannot be written.
     */
    static void requireFolder(String option, Path folder) {
        if (Files.exists(folder) && !Files.isDirectory(folder)) {
            throw new UserError(option + " " + folder + ": is a file; expected a folder (new or existing) to write into");
        }
        requireCreatable(option, folder.toAbsolutePath(), folder);
    }

    /** The nearest existing ancestor of {@code folder} must be a writable folder. */
    private static void requireCreatable(String option, Path folder, Path shown) {
        Path existing = folder;
        while (existing != null && !Files.exists(existing)) existing = existing.getParent();
        if (existing == null) return;
        if (!Files.isDirectory(existing)) {
            throw new UserError(option + " " + shown + ": " + existing + " is a file, not a folder; expected a path under a folder");
        }
        if (!Files.isWritable(existing)) throw new UserError(option + " " + shown + ": the folder " + existing + " is not writable");
    }

    /** Writes a file through a temporary sibling, moved into place when complete. */
    static void writeWhole(Path file, Writer writer) throws IOException {
        Path folder = file.toAbsolutePath().getParent();
        Files.createDirectories(folder);
        Path partial = Files.createTempFile(folder, "." + file.getFileName(), ".partial");
        try {
            writer.write(partial);
            Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(partial);
        }
    }

    interface Writer {
        void write(Path to) throws IOException;
    }
}
