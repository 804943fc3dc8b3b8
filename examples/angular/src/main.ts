/**
 * The live-tail example app: bootstraps one standalone component with the Liftbridge client
 * provided for the whole app (closed when the app is destroyed), without zone.js.
 *
 * `?proxy=<gRPC-web proxy URL>&stream=<name>` choose where it reads (defaults: the proxy of
 * docs/angular.md on http://localhost:8080, stream `orders`).
 */
import { provideZonelessChangeDetection } from '@angular/core';
import { bootstrapApplication } from '@angular/platform-browser';
import { provideLiftbridge } from 'rx-liftbridge/angular';
import { LiveTailComponent } from './app/live-tail.component';

const params = new URLSearchParams(location.search);

bootstrapApplication(LiveTailComponent, {
  providers: [provideZonelessChangeDetection(), provideLiftbridge({ url: params.get('proxy') ?? 'http://localhost:8080' })],
}).catch((error: unknown) => console.error(error));
