package attnc.export;

import attnc.run.Sha256;
import java.io.IOException;
import java.net.URI;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The .attn files a build can import besides its own: the {@code attn/} folder of each dependency,
 * a jar (opened as a file system for as long as this is open) or a folder of classes in a
 * multi-module build. A jar ships its project's patterns there when the Maven plugin packages them.
 */
final class Libraries implements AutoCloseable {
    /** Where, in a jar or a classes folder, importable .attn files are. */
    static final String FOLDER = "attn";

    private final List<Path> roots;
    private final List<FileSystem> opened;

    private Libraries(List<Path> roots, List<FileSystem> opened) {
        this.roots = roots;
        this.opened = opened;
    }

    static Libraries open(List<Path> locations) throws IOException {
        List<Path> roots = new ArrayList<>();
        List<FileSystem> opened = new ArrayList<>();
        try {
            for (Path location : locations) {
                if (Files.isDirectory(location)) {
                    // A folder of .attn sources itself (another source root), or a classes folder holding attn/.
                    Path inside = location.resolve(FOLDER);
                    roots.add(Files.isDirectory(inside) ? inside : location);
                } else if (Files.isRegularFile(location) && location.toString().endsWith(".jar")) {
                    FileSystem jar = FileSystems.newFileSystem(URI.create("jar:" + location.toUri()), Map.of());
                    opened.add(jar);
                    Path inside = jar.getPath("/" + FOLDER);
                    if (Files.isDirectory(inside)) roots.add(inside);
                }
            }
        } catch (IOException | RuntimeException e) {
            for (FileSystem fs : opened) fs.close();
            throw e;
        }
        return new Libraries(List.copyOf(roots), opened);
    }

    List<Path> roots() { return roots; }

    /** Every .attn file a build may import (its own sources and the libraries'), by place and content hash. */
    String fingerprint(Path sources) throws IOException {
        StringBuilder out = new StringBuilder();
        List<Path> all = new ArrayList<>();
        all.add(sources);
        all.addAll(roots);
        for (Path root : all) {
            if (!Files.isDirectory(root)) continue;
            out.append("library ").append(root.toUri()).append('\n');
            List<Path> files;
            try (Stream<Path> walk = Files.walk(root)) {
                files = walk.filter(p -> p.toString().endsWith(".attn") && Files.isRegularFile(p)).sorted().toList();
            }
            for (Path file : files) out.append(' ').append(root.relativize(file)).append(' ').append(Sha256.hex(Files.readAllBytes(file))).append('\n');
        }
        return out.toString();
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (FileSystem fs : opened) {
            try {
                fs.close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
