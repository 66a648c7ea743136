package attnc.maven;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The .attn files {@code generate} packages under {@code attn/} among the classes. The resources
 * plugin copies them there but never deletes one, so a file removed from the sources would stay
 * in the jar: its copy goes here.
 */
final class PackagedSources {
    private PackagedSources() {}

    /** Deletes each .attn file under {@code packaged} whose counterpart under {@code sources} is gone; returns them. */
    static List<Path> removeGone(Path sources, Path packaged) throws IOException {
        List<Path> removed = new ArrayList<>();
        if (!Files.isDirectory(packaged)) return removed;
        List<Path> copies;
        try (Stream<Path> files = Files.walk(packaged)) {
            copies = files.filter(p -> p.toString().endsWith(".attn") && Files.isRegularFile(p)).toList();
        }
        for (Path copy : copies) {
            if (!Files.exists(sources.resolve(packaged.relativize(copy).toString()))) {
                Files.delete(copy);
                removed.add(copy);
            }
        }
        return removed;
    }
}
