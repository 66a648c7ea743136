package attnc.export;

import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.List;

/**
 * Include and exclude patterns as Maven users write them ({@code **}{@code /*.attn},
 * {@code experimental/**}): globs over paths relative to the source folder, '/'-separated, where
 * a leading {@code **}{@code /} also matches no folder at all.
 */
final class Globs {
    private final List<PathMatcher> matchers;

    Globs(List<String> patterns) {
        this.matchers = patterns.stream()
                .flatMap(p -> {
                    String glob = p.replace('\\', '/');
                    return glob.startsWith("**/") ? java.util.stream.Stream.of(glob, glob.substring(3)) : java.util.stream.Stream.of(glob);
                })
                .map(glob -> FileSystems.getDefault().getPathMatcher("glob:" + glob))
                .toList();
    }

    boolean matches(Path relative) {
        Path normal = Path.of(relative.toString().replace('\\', '/'));
        return matchers.stream().anyMatch(m -> m.matches(normal));
    }
}
