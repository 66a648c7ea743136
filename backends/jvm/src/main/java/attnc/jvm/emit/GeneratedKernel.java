package attnc.jvm.emit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A generated kernel class: its binary name, its class-file bytes, and the slots its bytecode
 * reads launch values from. The bytes are a plain class file; {@link #writeTo} puts it where a
 * class loader (or the Maven plugin's output directory) expects it.
 */
public record GeneratedKernel(String className, byte[] bytes, Slots slots) {

    /** Writes {@code dir/attnc/jvm/kernel/Name.class}; returns the file. */
    public Path writeTo(Path dir) throws IOException {
        Path file = dir.resolve(className.replace('.', '/') + ".class");
        Files.createDirectories(file.getParent());
        return Files.write(file, bytes);
    }
}
