// hello is the program imagekit's tests put into an image.
package main

import "fmt"

func main() { fmt.Println("hello from imagekit") }
